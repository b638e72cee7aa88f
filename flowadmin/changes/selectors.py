"""Reads for change requests: every queryset the pages, forms and services need."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.http import Http404

from flowadmin import documents
from flowadmin.accounts.roles import APPROVE_CHANGE
from flowadmin.audit.models import AuditEvent
from flowadmin.audit.selectors import AuditFilters, audit_event_list
from flowadmin.catalog.models import ConnectionSpec, FlowSpec, FlowSpecSource
from flowadmin.catalog.texts import stored_digest, stored_text
from flowadmin.changes.ids import AttachedTo, IdContext
from flowadmin.changes.models import Approval, ChangeRequest
from flowadmin.documents.ids import id_key

CHANGE_REQUEST_NOT_FOUND = "No change request #{pk}."
SHOW_CHOICES = {
    "pending": "Pending",
    "awaiting": "Awaiting me",
    "mine": "Mine",
    "decided": "Decided",
    "all": "All",
}
DEFAULT_SHOW = "pending"
QUEUE_LIMIT = 500
LIST_DEFERRED = ("base_document", "proposed_document", "remote_document", "impact")


def open_q() -> Q:
    """Open requests: pending, approved, applying, or stale and not rebased (the unique index's rule)."""
    return Q(status__in=ChangeRequest.OPEN_STATUSES) | Q(status=ChangeRequest.Status.STALE, superseded_at__isnull=True)


def change_request_get(*, pk: int, deferred: tuple[str, ...] = ()) -> ChangeRequest:
    """One request; ``deferred``: columns read only if used (a document is 1 MB for a large flow spec)."""
    request = (
        ChangeRequest.objects.select_related("author", "reviewer", "flow_spec", "rebased_from")
        .defer(*deferred)
        .filter(pk=pk)
        .first()
    )
    if request is None:
        raise Http404(CHANGE_REQUEST_NOT_FOUND.format(pk=pk))
    return request


def change_request_for_review(*, pk: int) -> ChangeRequest:
    """A request for its page: its proposed document named by the digest of its stored text
    (``proposed_digest``, computed by the database) but neither document read (`review_documents` reads
    them only when what the page derives from them is kept nowhere), its flow spec's name as proposed
    (``base_name``); without the remote document a stale one met (read when it is shown) nor its flow
    spec's."""
    request = (
        ChangeRequest.objects.select_related("author", "reviewer", "flow_spec", "rebased_from")
        .defer(*REVIEW_DEFERRED)
        .annotate(
            proposed_digest=stored_digest("proposed_document"),
            base_name=KeyTextTransform("name", "base_document"),
        )
        .filter(pk=pk)
        .first()
    )
    if request is None:
        raise Http404(CHANGE_REQUEST_NOT_FOUND.format(pk=pk))
    return request


REVIEW_DEFERRED = ("base_document", "proposed_document", "remote_document", "flow_spec__document")


def review_key(change_request: ChangeRequest) -> tuple[str, str]:
    """What names the content of a request read by `change_request_for_review`: its base's content hash
    (the diff is of the PUT bodies) and the digest of its proposal's stored text."""
    return change_request.base_hash, change_request.proposed_digest


def review_documents(change_request: ChangeRequest) -> tuple[dict, dict]:
    """The base and proposed documents of a request read by `change_request_for_review`, read and decoded."""
    texts = ChangeRequest.objects.filter(pk=change_request.pk).values_list(
        stored_text("base_document"), stored_text("proposed_document")
    )
    base, proposed = texts.get()
    return documents.decoded(base), documents.decoded(proposed)


def change_request_open_for(*, sandbox: str, spec_id: str) -> ChangeRequest | None:
    """The open request of a flow spec, if any (there is at most one)."""
    return (
        ChangeRequest.objects.defer(*LIST_DEFERRED)
        .filter(open_q(), sandbox=sandbox, spec_id=spec_id)
        .order_by("-created_at")
        .first()
    )


def change_request_successor(*, change_request: ChangeRequest) -> ChangeRequest | None:
    """The request a stale one was rebased into."""
    return change_request.rebased_into.defer(*LIST_DEFERRED).order_by("-created_at").first()


def change_request_revisions(*, change_request: ChangeRequest) -> list[ChangeRequest]:
    """The requests that revise this rejected or withdrawn one, newest first."""
    return list(change_request.revisions.defer(*LIST_DEFERRED).order_by("-created_at"))


def approvals_dismissed(*, change_request: ChangeRequest) -> list[Approval]:
    """Approvals given to the request that no longer count: dismissed, or given to another digest."""
    return list(
        Approval.objects.filter(change_request_id=change_request.pk)
        .exclude(digest=change_request.digest, dismissed_at__isnull=True)
        .order_by("created_at", "id")
    )


def show_choice(value: str | None) -> str:
    return value if value in SHOW_CHOICES else DEFAULT_SHOW


def change_request_list(*, user, show: str = DEFAULT_SHOW) -> QuerySet[ChangeRequest]:
    """The queue: ``pending``, ``awaiting`` (pending requests of others, for an approver), ``mine``,
    ``decided`` or ``all``; newest first, without the documents."""
    requests = ChangeRequest.objects.defer(*LIST_DEFERRED)  # rows carry the usernames: no joins
    show = show_choice(show)
    if show == "pending":
        requests = requests.filter(status=ChangeRequest.Status.PENDING)
    elif show == "awaiting":
        if not user.has_perm(APPROVE_CHANGE):
            return requests.none()
        requests = requests.filter(status=ChangeRequest.Status.PENDING).exclude(author=user)
    elif show == "mine":
        requests = requests.filter(author=user)
    elif show == "decided":
        requests = requests.filter(status__in=ChangeRequest.DECIDED_STATUSES)
    return requests.order_by("-created_at", "-id")


def change_request_pending_count(*, user) -> int:
    """What the navigation shows: pending requests awaiting this approver, or all pending ones."""
    pending = ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING)
    if user.has_perm(APPROVE_CHANGE):
        pending = pending.exclude(author=user)
    return pending.count()


def flowspec_change_requests(*, sandbox: str, spec_id: str, limit: int = 20) -> list[ChangeRequest]:
    """A flow spec's change requests, newest first."""
    return list(
        ChangeRequest.objects.defer(*LIST_DEFERRED)
        .select_related("author")
        .filter(sandbox=sandbox, spec_id=spec_id)
        .order_by("-created_at", "-id")[:limit]
    )


def change_request_events(*, change_request: ChangeRequest) -> QuerySet[AuditEvent]:
    """The audit events of a request, oldest first (read-only, without their documents)."""
    events = audit_event_list(filters=AuditFilters(change_request_id=change_request.pk))
    return events.defer("before", "after", "patch", "search_text").order_by("seq")


# --- for the id check --------------------------------------------------------------------------
def connection_spec_names(*, sandbox: str) -> dict[str, str]:
    """Every cached connection spec of the sandbox: id (lower case) -> name."""
    rows = ConnectionSpec.objects.filter(sandbox__name=sandbox).values_list("spec_id", "name")
    return {id_key(spec_id): name for spec_id, name in rows}


def attachments_elsewhere(*, sandbox: str, spec_id: str) -> dict[str, AttachedTo]:
    """Source connection spec ids listed by the sandbox's other (not vanished) flow specs."""
    rows = (
        FlowSpecSource.objects.filter(
            role=FlowSpecSource.Role.SOURCE, flow_spec__sandbox__name=sandbox, flow_spec__vanished_at__isnull=True
        )
        .exclude(flow_spec__spec_id=spec_id)
        .values_list("connection_spec_id", "flow_spec__spec_id", "flow_spec__name")
        .order_by("flow_spec__name", "flow_spec__spec_id")
    )
    attached: dict[str, AttachedTo] = {}
    for connection_spec_id, other_id, other_name in rows:
        attached.setdefault(connection_spec_id.lower(), AttachedTo(spec_id=other_id, name=other_name))
    return attached


def id_context(*, flow_spec: FlowSpec, current: list[str] | None = None) -> IdContext:
    """What `ids.ids_check` needs for ``flow_spec`` (``current``: the ids of another base document)."""
    sandbox = flow_spec.sandbox.name
    return IdContext(
        sandbox=sandbox,
        current=tuple(documents.source_ids(flow_spec.document) if current is None else current),
        names=connection_spec_names(sandbox=sandbox),
        attached=attachments_elsewhere(sandbox=sandbox, spec_id=flow_spec.spec_id),
    )


@dataclass(frozen=True)
class PickerItem:
    spec_id: str
    name: str


def connection_specs_unused(*, sandbox: str) -> list[PickerItem]:
    """Connection specs of the sandbox that no (not vanished) flow spec lists yet, by name."""
    used = FlowSpecSource.objects.filter(flow_spec__sandbox__name=sandbox, flow_spec__vanished_at__isnull=True).values(
        "connection_spec_id"
    )
    rows = (
        ConnectionSpec.objects.filter(sandbox__name=sandbox)
        .exclude(spec_id__in=used)
        .order_by("name", "spec_id")
        .values_list("spec_id", "name")
    )
    return [PickerItem(spec_id=spec_id.lower(), name=name) for spec_id, name in rows]


def approvers_to_notify(*, exclude=None) -> list[str]:
    """E-mail addresses of the active approvers (``exclude``: a user who must not be told)."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    app_label, codename = APPROVE_CHANGE.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    holders = Q(is_superuser=True)
    if permission is not None:
        holders |= Q(groups__permissions=permission) | Q(user_permissions=permission)
    users = users.filter(holders)
    if exclude is not None and exclude.pk is not None:
        users = users.exclude(pk=exclude.pk)
    return sorted(set(users.values_list("email", flat=True)))
