"""`rows_copy` (`flowadmin/db_copy.py`): rows inserted in bulk without their keys come back as they went
in: documents with every character JSON, SQL and COPY escape, text with tabs and line breaks, times,
defaults and parents; a row whose parent is not saved is refused, as ``bulk_create`` refuses it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from flowadmin.catalog.models import ConnectionSpec, FlowSpec, FlowSpecSource, FlowSpecVersion
from flowadmin.db_copy import rows_copy
from tests.catalog.factories import make_flowspec, make_sandbox, numbered_id
from tests.project.test_document_inserts import TRICKY, documents

pytestmark = pytest.mark.django_db
SEEN = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def test_versions_keep_their_documents_times_and_defaults():
    flow_spec = make_flowspec(make_sandbox(), numbered_id(1), "Streaming")
    before = FlowSpecVersion.objects.count()

    rows_copy([FlowSpecVersion(flow_spec=flow_spec, document=doc, content_hash=f"h{doc['n']}", seen_at=SEEN)
               for doc in documents(3)])  # fmt: skip

    stored = FlowSpecVersion.objects.filter(content_hash__startswith="h").order_by("content_hash")
    assert FlowSpecVersion.objects.count() == before + 3
    assert [row.document for row in stored] == documents(3)
    assert {(row.flow_spec_id, row.seen_at, row.origin, row.change_request_id) for row in stored} == {
        (flow_spec.pk, SEEN, FlowSpecVersion.Origin.SYNC, None)
    }


def test_text_with_tabs_line_breaks_and_backslashes_is_stored_as_it_is():
    sandbox = make_sandbox()
    names = [TRICKY["name"], TRICKY["lines"], TRICKY["unicode"], "\\N", ""]

    rows_copy([ConnectionSpec(sandbox=sandbox, spec_id=numbered_id(n), name=name) for n, name in enumerate(names)])

    assert list(ConnectionSpec.objects.filter(sandbox=sandbox).order_by("spec_id").values_list("name", flat=True)) == (
        names
    )


def test_a_row_whose_parent_is_not_saved_is_refused_and_nothing_goes_in():
    unsaved = FlowSpec(sandbox=make_sandbox(), spec_id=numbered_id(9))

    with pytest.raises(ValueError, match="unsaved related object"):
        rows_copy([FlowSpecSource(flow_spec=unsaved, connection_spec_id=numbered_id(2))])

    assert not FlowSpecSource.objects.filter(connection_spec_id=numbered_id(2)).exists()


def test_a_row_the_database_refuses_raises_django_s_integrity_error_and_nothing_goes_in():
    sandbox = make_sandbox()
    twice = [ConnectionSpec(sandbox=sandbox, spec_id=numbered_id(5), name=name) for name in ("first", "again")]

    with pytest.raises(IntegrityError), transaction.atomic():
        rows_copy(twice)

    assert not ConnectionSpec.objects.filter(sandbox=sandbox).exists()


def test_nothing_to_insert_sends_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        rows_copy([])
