import jsonpatch
import pytest

from flowadmin.audit.chain import chain_check, event_hash
from flowadmin.audit.correlation import correlation
from flowadmin.audit.models import GENESIS_HASH, AuditEvent, AuditSearchTerm
from flowadmin.audit.selectors import AuditFilters, audit_event_list
from flowadmin.audit.services import (
    NOT_JSON,
    UNKNOWN_ACTION,
    UNKNOWN_OUTCOME,
    AuditRecordError,
    audit_event_new,
    audit_record,
    audit_record_many,
    audit_search_terms_backfill,
)

pytestmark = pytest.mark.django_db

SPEC = "e77fde5a-22a8-11ed-861d-0242ac120002"
KEPT = "11111111-1111-4111-8111-111111111111"
REMOVED = "22222222-2222-4222-8222-222222222222"
ADDED = "33333333-3333-4333-8333-333333333333"
BEFORE = {"id": SPEC, "name": "GenericStreamingAEP", "sourceConnectionSpecIds": [KEPT, REMOVED]}
AFTER = {"id": SPEC, "name": "GenericStreamingAEP", "sourceConnectionSpecIds": [KEPT, ADDED]}


def test_the_first_event_starts_the_chain_from_the_genesis_hash():
    event = audit_record(action="sandbox.synced", sandbox="prod")

    assert event.seq == 1
    assert event.prev_hash == GENESIS_HASH
    assert event.hash == event_hash(event)
    assert len(event.hash) == 64


def test_each_event_links_to_the_one_before():
    first = audit_record(action="change.proposed")
    second = audit_record(action="change.approved")

    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    assert chain_check(AuditEvent.objects.order_by("seq")).ok


def test_records_who_did_what_with_the_username_copied(auditor_user):
    event = audit_record(action="change.proposed", actor=auditor_user, sandbox="prod", spec_id=SPEC, detail="why")
    stored = AuditEvent.objects.get(seq=event.seq)

    assert stored.actor == auditor_user
    assert stored.actor_username == "auditor"
    assert (stored.action, stored.sandbox, stored.spec_id, stored.detail) == ("change.proposed", "prod", SPEC, "why")
    assert stored.outcome == "success"


def test_the_patch_is_computed_from_before_and_after_when_not_given():
    event = audit_record(action="change.applied", before=BEFORE, after=AFTER)
    stored = AuditEvent.objects.get(seq=event.seq)

    assert jsonpatch.apply_patch(BEFORE, stored.patch) == AFTER
    assert [op["path"].split("/")[1] for op in stored.patch] == ["sourceConnectionSpecIds"] * len(stored.patch)


def test_a_given_patch_is_kept_as_given():
    patch = [{"op": "add", "path": "/sourceConnectionSpecIds/-", "value": ADDED}]
    event = audit_record(action="change.proposed", before=BEFORE, after=AFTER, patch=patch)

    assert AuditEvent.objects.get(seq=event.seq).patch == patch


def test_no_documents_means_no_patch():
    assert audit_record(action="change.approved").patch is None


def test_the_search_text_holds_ids_added_and_removed_by_the_change():
    event = audit_record(action="change.applied", before=BEFORE, after=AFTER, detail="Swap the Acme source")

    assert ADDED in event.search_text
    assert REMOVED in event.search_text  # only in `before`: a removal carries no value in the patch
    assert KEPT not in event.search_text  # unchanged ids are not part of the change
    assert "swap the acme source" in event.search_text


def found_by(q: str) -> list[int]:
    return [event.seq for event in audit_event_list(filters=AuditFilters(q=q))]


def test_an_id_is_found_through_the_index_written_with_its_event():
    event = audit_record(action="change.applied", before=BEFORE, after=AFTER)
    other = audit_record(action="change.applied", before=AFTER, after=BEFORE)

    assert set(AuditSearchTerm.objects.filter(event=event).values_list("term", flat=True)) == {
        ADDED,
        REMOVED,
        event.correlation_id,
    }
    assert found_by(ADDED) == [other.seq, event.seq]
    assert found_by(ADDED.upper()) == [other.seq, event.seq]
    assert found_by(KEPT) == []


def test_events_written_before_the_index_are_found_once_indexed_and_indexing_again_adds_nothing():
    event = audit_record(action="change.applied", before=BEFORE, after=AFTER)
    AuditSearchTerm.objects.all().delete()  # as it was before the index existed
    assert found_by(REMOVED) == []

    audit_search_terms_backfill()
    indexed = AuditSearchTerm.objects.count()
    audit_search_terms_backfill()

    assert found_by(REMOVED) == [event.seq]
    assert AuditSearchTerm.objects.count() == indexed == 3


def test_secrets_never_reach_the_stored_http_exchange():
    event = audit_record(
        action="change.applied",
        http={
            "method": "PUT",
            "url": "https://platform.adobe.io/flowSpecs/x?access_token=tok123&client_secret=sec456&limit=10",
            "status": 200,
            "request_id": "req-1",
            "duration_ms": 42,
            "attempt": 1,
            "Authorization": "Bearer eyJhbGciOi.secret.sig",
            "headers": {"x-api-key": "key789", "x-sandbox-name": "prod", "authorization": "Bearer abc"},
        },
    )
    stored = AuditEvent.objects.get(seq=event.seq).http
    text = str(stored)

    for secret in ("tok123", "sec456", "eyJhbGciOi", "key789", "Bearer abc"):
        assert secret not in text
    assert stored["url"] == "https://platform.adobe.io/flowSpecs/x?limit=10"
    assert stored["request_id"] == "req-1"
    assert stored["headers"] == {"x-sandbox-name": "prod"}


def test_secrets_are_stripped_from_every_exchange_of_a_list():
    event = audit_record(
        action="change.apply_failed",
        outcome="failure",
        http=[
            {"method": "PUT", "url": "https://h/x?signature=abc", "status": 503, "attempt": 1},
            {"method": "PUT", "url": "https://user:pw@h/x?password=p&x=1", "status": 200, "attempt": 2},
        ],
    )

    assert [exchange["url"] for exchange in event.http] == ["https://h/x", "https://h/x?x=1"]


def test_an_unknown_action_is_refused_and_nothing_is_written():
    with pytest.raises(AuditRecordError) as refused:
        audit_record(action="change.teleported")

    assert str(refused.value) == UNKNOWN_ACTION.format(action="change.teleported")
    assert not AuditEvent.objects.exists()


def test_an_unknown_outcome_is_refused_and_nothing_is_written():
    with pytest.raises(AuditRecordError) as refused:
        audit_record(action="change.applied", outcome="maybe")

    assert str(refused.value) == UNKNOWN_OUTCOME.format(outcome="maybe")
    assert not AuditEvent.objects.exists()


def test_a_document_that_is_not_json_is_refused_and_nothing_is_written():
    with pytest.raises(AuditRecordError) as refused:
        audit_record(action="change.applied", before={"when": object()})

    assert str(refused.value) == NOT_JSON.format(field="before")
    assert not AuditEvent.objects.exists()


def test_events_recorded_in_one_correlation_share_its_id():
    with correlation() as cid:
        first = audit_record(action="change.approved")
        second = audit_record(action="change.apply_started")

    assert first.correlation_id == second.correlation_id == cid


def test_events_outside_any_correlation_each_get_their_own_id():
    first = audit_record(action="sandbox.synced")
    second = audit_record(action="sandbox.synced")

    assert first.correlation_id and second.correlation_id
    assert first.correlation_id != second.correlation_id


def test_an_explicit_correlation_id_wins_over_the_current_one():
    with correlation("outer-1"):
        event = audit_record(action="change.reconciled", correlation_id="reconcile-7")

    assert event.correlation_id == "reconcile-7"


def test_writes_in_an_outer_transaction_that_rolls_back_leave_no_event():
    from django.db import transaction

    audit_record(action="sandbox.synced")
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="change.proposed")
        raise RuntimeError("the caller failed")

    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1]
    assert audit_record(action="change.proposed").seq == 2


def test_several_events_appended_together_chain_as_one_at_a_time_would_and_are_found_by_their_ids(db):
    first = audit_record(action="sandbox.synced", sandbox="dev", detail="before")
    events = [
        audit_event_new(action="flowspec.changed_remotely", sandbox="prod", spec_id=SPEC, before={"a": 1}, after={}),
        audit_event_new(action="sandbox.synced", sandbox="prod", detail="2 flow specs"),
        audit_event_new(action="sandbox.sync_failed", outcome="failure", sandbox="stage", detail="HTTP 500"),
    ]

    recorded = audit_record_many(events)
    after = audit_record(action="sandbox.synced", sandbox="dev", detail="after")

    assert [event.seq for event in recorded] == [first.seq + 1, first.seq + 2, first.seq + 3]
    assert recorded[0].prev_hash == first.hash and after.prev_hash == recorded[-1].hash
    stored = AuditEvent.objects.order_by("seq")
    assert [(e.action, e.sandbox) for e in stored] == [
        ("sandbox.synced", "dev"),
        ("flowspec.changed_remotely", "prod"),
        ("sandbox.synced", "prod"),
        ("sandbox.sync_failed", "stage"),
        ("sandbox.synced", "dev"),
    ]
    assert stored.get(seq=recorded[0].seq).patch == [{"op": "remove", "path": "/a"}]
    assert chain_check(stored).ok
    assert AuditSearchTerm.objects.filter(term=SPEC.lower(), event_id=recorded[0].seq).exists()
    assert audit_record_many([]) == []
