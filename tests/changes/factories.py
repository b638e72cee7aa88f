"""Change requests for tests, made through the services so every table and the audit log stay in step."""

from flowadmin import documents
from flowadmin.changes.ids import ids_apply
from flowadmin.changes.services import change_request_propose


def propose(spec, author, *, add=(), remove=(), reason="Onboard the new source"):
    spec.refresh_from_db()
    ids = ids_apply(documents.source_ids(spec.document), added=add, removed=remove)
    return change_request_propose(flow_spec=spec, source_ids=ids, reason=reason, author=author, confirm_empty=not ids)
