"""Documents holding every character JSON and SQL escape are stored as sent when many rows go in at once;
on PostgreSQL those rows go in as VALUES, not as UNNEST arrays (`flowadmin/db_fields.py`)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flowadmin.audit.models import AuditEvent
from flowadmin.audit.services import audit_event_new, audit_record_many
from flowadmin.catalog.models import FlowSpecVersion
from flowadmin.emulator.models import FlowSpecDocument, RemoteSandbox
from tests.catalog.factories import make_flowspec, make_sandbox, numbered_id

TRICKY = {
    "name": 'a "quoted" name, a back\\slash, an apostrophe\'s, {braces}, a comma',
    "lines": "one\ntwo\tthree\r",
    "unicode": "Zürich, 東京 🚀",
    "nested": [{"x": None, "y": [1, 2.5, True]}, '\\"', "NULL", ""],
}


def documents(count: int) -> list[dict]:
    return [{**TRICKY, "n": n} for n in range(count)]


def assert_as_values(queries, model) -> None:
    """On PostgreSQL: the rows of ``model`` went in (in one statement) as VALUES."""
    if connection.vendor == "postgresql":
        into = f'INSERT INTO "{model._meta.db_table}"'
        [sql] = [query["sql"] for query in queries if query["sql"].startswith(into)]
        assert "UNNEST" not in sql.upper() and sql.count("), (") == 2


@pytest.mark.django_db
def test_flow_spec_versions_inserted_together_keep_their_documents():
    flow_spec = make_flowspec(make_sandbox(), numbered_id(1), "Streaming")
    with CaptureQueriesContext(connection) as queries:
        FlowSpecVersion.objects.bulk_create(
            [FlowSpecVersion(flow_spec=flow_spec, document=doc, content_hash=str(doc["n"])) for doc in documents(3)]
        )

    stored = FlowSpecVersion.objects.filter(flow_spec=flow_spec, content_hash__in=["0", "1", "2"]).order_by(
        "content_hash"
    )
    assert [row.document for row in stored] == documents(3)
    assert_as_values(queries.captured_queries, FlowSpecVersion)


@pytest.mark.django_db
def test_audit_events_appended_together_keep_their_documents():
    with CaptureQueriesContext(connection) as queries:
        audit_record_many(
            [
                audit_event_new(action="flowspec.changed_remotely", before=doc, after=TRICKY, http=[doc])
                for doc in documents(3)
            ]
        )

    stored = AuditEvent.objects.order_by("-seq")[:3][::-1]
    assert [(event.before, event.after, event.http) for event in stored] == [
        (doc, TRICKY, [doc]) for doc in documents(3)
    ]
    assert_as_values(queries.captured_queries, AuditEvent)


@pytest.mark.django_db
def test_emulator_documents_inserted_together_keep_their_text():
    sandbox = RemoteSandbox.objects.create(name="inserts", title="Inserts", type="development")
    rows = []
    for n, doc in enumerate(documents(3)):
        row = FlowSpecDocument(sandbox=sandbox, spec_id=numbered_id(n))
        row.document = doc
        rows.append(row)
    with CaptureQueriesContext(connection) as queries:
        FlowSpecDocument.objects.bulk_create(rows)

    stored = FlowSpecDocument.objects.filter(sandbox=sandbox).order_by("spec_id")
    assert [row.document for row in stored] == documents(3)
    assert_as_values(queries.captured_queries, FlowSpecDocument)
