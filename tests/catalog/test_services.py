import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flowadmin import documents
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog import sync, sync_writes
from flowadmin.catalog.models import (
    ConnectionSpec,
    FlowSpec,
    FlowSpecSource,
    FlowSpecVersion,
    Sandbox,
    SyncRun,
    SyncRunSandbox,
)
from flowadmin.catalog.services import (
    ALREADY_SYNCING,
    UNKNOWN_SANDBOX,
    CatalogError,
    flowspec_cache_store,
    sandbox_claim,
    sandbox_sync,
    sandboxes_sync,
    sync_run_start,
)
from tests.catalog.fakes import HTTP_API, S3, STREAMING_ID, UNKNOWN_ID, flow_spec

REST_ID = "6499120c-0b15-42dc-936e-847ea3c24d72"


def actions():
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


@pytest.fixture
def synced_dev(db, fake_client):
    """dev synced once (GenericStreamingAEP and RestStorageToAEP cached), audit log emptied of it."""
    sandbox_sync(sandbox_name="dev")
    return fake_client


# --- first sync ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_first_sync_caches_every_flow_spec_with_its_fields_and_a_first_version(fake_client, staff_user):
    result = sandbox_sync(sandbox_name="dev", actor=staff_user)

    assert result.ok and (result.new, result.changed, result.unchanged, result.vanished) == (2, 0, 0, 0)
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=STREAMING_ID)
    assert spec.name == "GenericStreamingAEP"
    assert spec.provider_id == "521eee4d-8cbe-4906-bb48-fb6bd4450033"
    assert (spec.version, spec.frequency, spec.source_count) == ("1.0", "streaming", 1)
    assert spec.content_hash == documents.content_hash(fake_client.flow_specs["dev"][0])
    assert spec.remote_updated_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert spec.document["createdBy"] == "someone@AdobeID"
    assert list(spec.versions.values_list("origin", flat=True)) == ["sync"]
    sandbox = Sandbox.objects.get(name="dev")
    assert sandbox.last_synced_at is not None and sandbox.last_sync_error == ""
    assert sandbox.sync_lease_until is None, "the claim is released"


@pytest.mark.django_db
def test_a_sync_caches_the_connection_specs_and_indexes_the_ids_each_flow_spec_lists(fake_client):
    sandbox_sync(sandbox_name="dev")

    assert set(ConnectionSpec.objects.filter(sandbox__name="dev").values_list("name", flat=True)) == {
        "Amazon S3",
        "HTTP API",
        "Data Lake",
    }
    rows = FlowSpecSource.objects.filter(flow_spec__spec_id=STREAMING_ID).values_list("role", "connection_spec_id")
    assert set(rows) == {("source", HTTP_API), ("target", "c604ff05-7f1a-43c0-8e18-33bf874cb11c")}


@pytest.mark.django_db
def test_a_sync_is_audited_with_its_counts_and_http_exchanges(fake_client, staff_user):
    sandbox_sync(sandbox_name="dev", actor=staff_user)

    event = AuditEvent.objects.get(action="sandbox.synced")
    assert event.sandbox == "dev"
    assert event.actor == staff_user
    assert "2 new, 0 changed, 0 unchanged, 0 vanished" in event.detail
    assert [exchange["url"] for exchange in event.http] == [
        "https://flow.example/flowSpecs",
        "https://flow.example/connectionSpecs",
    ]


# --- later syncs --------------------------------------------------------------------------------
def test_an_unchanged_remote_adds_no_version_and_no_audit_event_but_says_when_it_was_synced(synced_dev):
    before = Sandbox.objects.get(name="dev").last_synced_at

    result = sandbox_sync(sandbox_name="dev")

    assert (result.new, result.changed, result.unchanged, result.vanished) == (0, 0, 2, 0)
    assert not result.has_changes
    assert FlowSpecVersion.objects.count() == 2
    assert actions() == ["sandbox.synced"]  # the first sync's only
    assert Sandbox.objects.get(name="dev").last_synced_at > before


def test_new_metadata_alone_refreshes_the_cached_document_without_a_new_version(synced_dev):
    synced_dev.flow_specs["dev"][0]["updatedAt"] = 1800000000000

    result = sandbox_sync(sandbox_name="dev")

    assert result.unchanged == 2
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=STREAMING_ID)
    assert spec.document["updatedAt"] == 1800000000000
    assert spec.versions.count() == 1


def test_new_metadata_alone_in_a_sync_of_several_sandboxes_is_stored_with_no_version_nor_audit_event(synced_dev):
    sandbox_sync(sandbox_name="prod")
    events = actions()
    synced_dev.flow_specs["dev"][1]["updatedBy"] = "someone-else@AdobeID"

    results = sandboxes_sync(names=["dev", "prod"])

    assert [(result.changed, result.has_changes) for result in results] == [(0, False), (0, False)]
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=REST_ID)
    assert spec.document["updatedBy"] == "someone-else@AdobeID"
    assert spec.versions.count() == 1
    assert actions() == events


def test_an_unchanged_flow_spec_keeps_its_stored_document_as_it_is(synced_dev):
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=STREAMING_ID)
    FlowSpec.objects.filter(pk=spec.pk).update(document={**spec.document, "kept": "as stored"})

    fetched = spec.fetched_at

    result = sandbox_sync(sandbox_name="dev")

    assert result.unchanged == 2
    spec = FlowSpec.objects.select_related("sandbox").get(pk=spec.pk)
    assert spec.document["kept"] == "as stored", "the listing's equal document is not written again"
    assert spec.fetched_at == fetched, "nor is its row"
    assert spec.confirmed_at == spec.sandbox.last_synced_at > fetched, "the sync says when it was last seen"


def test_a_sync_that_finds_nothing_changed_writes_no_flow_spec_or_connection_spec_row(synced_dev):
    with CaptureQueriesContext(connection) as queries:
        result = sandbox_sync(sandbox_name="dev")

    assert result.ok and result.unchanged == 2
    writes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith(("UPDATE", "INSERT", "DELETE")) and "catalog_sandbox" not in query["sql"][:40]
    ]
    assert writes == [], "only the sandbox's own row says that it was synced"


def test_a_flow_spec_cached_without_a_metadata_hash_gets_it_from_the_next_sync_with_no_version(synced_dev):
    FlowSpec.objects.update(metadata_hash="")

    result = sandbox_sync(sandbox_name="dev")

    assert (result.changed, result.unchanged, result.has_changes) == (0, 2, False)
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=STREAMING_ID)
    assert spec.metadata_hash == documents.metadata_hash(synced_dev.flow_specs["dev"][0])
    assert spec.versions.count() == 1
    assert actions() == ["sandbox.synced"]  # the first sync's only


def test_a_remote_change_records_a_version_updates_the_index_and_is_audited_with_both_documents(synced_dev):
    before = FlowSpec.objects.get(sandbox__name="dev", spec_id=STREAMING_ID).document
    synced_dev.flow_specs["dev"][0]["sourceConnectionSpecIds"].append(S3)

    result = sandbox_sync(sandbox_name="dev")

    assert (result.new, result.changed, result.unchanged, result.changed_remotely) == (0, 1, 1, 1)
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=STREAMING_ID)
    assert spec.source_count == 2
    assert spec.versions.count() == 2
    assert set(spec.attachments.filter(role="source").values_list("connection_spec_id", flat=True)) == {HTTP_API, S3}
    event = AuditEvent.objects.get(action="flowspec.changed_remotely")
    assert (event.sandbox, event.spec_id) == ("dev", STREAMING_ID)
    assert event.before == before
    assert event.after["sourceConnectionSpecIds"] == [HTTP_API, S3]


def test_a_change_flowadmin_applied_itself_is_not_reported_as_a_remote_change(synced_dev):
    applied = flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API, S3])
    flowspec_cache_store(sandbox_name="dev", document=applied, change_request_id=7)
    # The remote moved on (another flowadmin change) before the cache heard of it, then back.
    synced_dev.flow_specs["dev"][0] = applied

    result = sandbox_sync(sandbox_name="dev")

    assert result.changed == 0 and result.changed_remotely == 0
    assert "flowspec.changed_remotely" not in actions()


def test_a_remote_document_equal_to_a_version_flowadmin_applied_earlier_is_not_a_remote_change(synced_dev):
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=STREAMING_ID)
    applied = flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API, S3])
    FlowSpecVersion.objects.create(
        flow_spec=spec, document=applied, content_hash=documents.content_hash(applied), origin="flowadmin"
    )
    synced_dev.flow_specs["dev"][0] = applied

    result = sandbox_sync(sandbox_name="dev")

    assert result.changed == 1 and result.changed_remotely == 0
    assert "flowspec.changed_remotely" not in actions()


def test_a_spec_gone_remotely_is_marked_vanished_and_kept_with_its_history(synced_dev):
    synced_dev.flow_specs["dev"].pop(1)

    result = sandbox_sync(sandbox_name="dev")

    assert result.vanished == 1
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=REST_ID)
    assert spec.vanished_at is not None
    assert spec.versions.count() == 1
    assert sandbox_sync(sandbox_name="dev").vanished == 0, "counted once, when it vanishes"


def test_a_vanished_spec_that_comes_back_is_unmarked(synced_dev):
    kept = synced_dev.flow_specs["dev"].pop(1)
    sandbox_sync(sandbox_name="dev")
    synced_dev.flow_specs["dev"].append(kept)

    result = sandbox_sync(sandbox_name="dev")

    assert result.reappeared == 1 and result.new == 0
    assert FlowSpec.objects.get(sandbox__name="dev", spec_id=REST_ID).vanished_at is None


@pytest.mark.django_db
def test_documents_without_a_usable_id_are_left_out(fake_client):
    fake_client.flow_specs["dev"] += [flow_spec("", "NoId"), flow_spec("../../etc", "Traversal")]

    result = sandbox_sync(sandbox_name="dev")

    assert result.new == 2
    assert not FlowSpec.objects.filter(name__in=["NoId", "Traversal"]).exists()


# --- failures -----------------------------------------------------------------------------------
def test_a_failed_sync_keeps_the_cache_records_the_error_and_audits_the_exchange(synced_dev):
    synced_dev.flow_specs["dev"].pop(0)
    synced_dev.fail("connectionSpecs", "dev")
    cached = list(FlowSpec.objects.values_list("spec_id", "content_hash", "vanished_at", "fetched_at"))
    versions = FlowSpecVersion.objects.count()

    result = sandbox_sync(sandbox_name="dev")

    assert not result.ok
    assert "Internal server error" in result.error and "req-500" in result.error
    assert list(FlowSpec.objects.values_list("spec_id", "content_hash", "vanished_at", "fetched_at")) == cached
    assert FlowSpecVersion.objects.count() == versions
    sandbox = Sandbox.objects.get(name="dev")
    assert "Something broke" in sandbox.last_sync_error
    assert sandbox.sync_lease_until is None
    event = AuditEvent.objects.get(action="sandbox.sync_failed")
    assert event.outcome == "failure"
    assert "req-500" in event.detail
    assert [exchange["status"] for exchange in event.http] == [200, 500]


def test_a_successful_sync_clears_the_previous_error(synced_dev):
    Sandbox.objects.filter(name="dev").update(last_sync_error="earlier trouble")

    sandbox_sync(sandbox_name="dev")

    assert Sandbox.objects.get(name="dev").last_sync_error == ""


@pytest.mark.django_db
def test_an_invalid_sandbox_name_is_refused_before_anything_is_written(fake_client):
    with pytest.raises(CatalogError):
        sandbox_sync(sandbox_name="../../etc")
    assert not Sandbox.objects.exists()
    assert fake_client.calls == []


# --- claims -------------------------------------------------------------------------------------
def test_a_sandbox_claimed_by_another_worker_is_not_synced_twice(synced_dev):
    assert sandbox_claim(sandbox_name="dev", token="other-worker")
    calls = len(synced_dev.calls)

    result = sandbox_sync(sandbox_name="dev")

    assert result.busy and result.error == ALREADY_SYNCING
    assert len(synced_dev.calls) == calls
    assert Sandbox.objects.get(name="dev").sync_lease_token == "other-worker", "the other claim is kept"


def test_an_expired_claim_of_a_crashed_worker_is_taken_over(synced_dev):
    assert sandbox_claim(sandbox_name="dev", token="crashed-worker")
    Sandbox.objects.filter(name="dev").update(sync_lease_until=timezone.now() - timedelta(seconds=1))

    assert sandbox_sync(sandbox_name="dev").ok


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_syncs_of_one_sandbox_list_it_once(fake_client):
    Sandbox.objects.create(name="dev")
    listing = threading.Event()
    release = threading.Event()

    def block(sandbox):
        listing.set()
        release.wait(timeout=30)

    fake_client.before_listing = block
    results = []
    first = threading.Thread(target=sync.in_own_connection(lambda: results.append(sandbox_sync(sandbox_name="dev"))))
    first.start()
    assert listing.wait(timeout=30)
    second = sandbox_sync(sandbox_name="dev")
    release.set()
    first.join(timeout=30)

    assert second.busy
    assert results[0].ok
    assert fake_client.listings("dev") == 1


# --- many sandboxes -----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_sandboxes_sync_discovers_the_sandboxes_and_syncs_them_concurrently(fake_client, settings):
    settings.FLOWADMIN_SYNC_CONCURRENCY = 2
    fake_client.add_sandbox("old", state="inactive")

    results = sandboxes_sync()

    assert [(result.sandbox, result.ok) for result in results] == [("dev", True), ("prod", True)]
    prod = Sandbox.objects.get(name="prod")
    assert (prod.title, prod.type, prod.region, prod.is_default) == ("Prod", "production", "VA7", True)
    assert Sandbox.objects.get(name="old").state == "inactive"
    assert fake_client.listings("old") == 0
    assert FlowSpec.objects.filter(sandbox__name="prod").count() == 2


@pytest.mark.django_db(transaction=True)
def test_one_failing_sandbox_does_not_stop_the_others(fake_client, settings):
    settings.FLOWADMIN_SYNC_CONCURRENCY = 2
    fake_client.fail("connectionSpecs", "prod")

    results = {result.sandbox: result for result in sandboxes_sync()}

    assert results["dev"].ok and not results["prod"].ok
    assert FlowSpec.objects.filter(sandbox__name="dev").count() == 2
    assert not FlowSpec.objects.filter(sandbox__name="prod").exists()


@pytest.mark.django_db
def test_configured_sandboxes_are_synced_asking_the_sandbox_api_only_for_types_it_does_not_know(fake_client, settings):
    settings.FLOWADMIN_SANDBOXES = ["dev"]

    results = sandboxes_sync()

    assert [result.sandbox for result in results] == ["dev"]
    assert fake_client.calls.count(("sandboxes", None)) == 1
    assert Sandbox.objects.get(name="dev").type == "development", "its tier follows the Sandbox API's type"

    sandboxes_sync()
    assert fake_client.calls.count(("sandboxes", None)) == 1, "a type once known is not asked again"


@pytest.mark.django_db
def test_an_unknown_sandbox_name_is_reported_and_nothing_is_cached_for_it(fake_client):
    [result] = sandboxes_sync(names=["nope"])

    assert not result.ok and result.error == UNKNOWN_SANDBOX
    assert not Sandbox.objects.filter(name="nope").exists()


@pytest.mark.django_db
def test_sandboxes_the_api_no_longer_lists_are_marked_gone(fake_client):
    Sandbox.objects.create(name="deleted-one", state="active")

    sandboxes_sync()

    assert Sandbox.objects.get(name="deleted-one").state == "gone"


@pytest.mark.django_db
def test_a_sandbox_listed_again_with_new_details_is_updated_and_no_longer_gone(fake_client):
    sandboxes_sync()
    Sandbox.objects.filter(name="dev").update(state="gone")
    fake_client.add_sandbox("dev", title="Development (EU)", region="NLD2")

    sandboxes_sync()

    dev = Sandbox.objects.get(name="dev")
    assert (dev.state, dev.title, dev.region) == ("active", "Development (EU)", "NLD2")


@pytest.mark.django_db(transaction=True)
def test_every_claim_is_given_back_after_a_sync_of_many_sandboxes_failed_ones_included(fake_client, settings):
    settings.FLOWADMIN_SYNC_CONCURRENCY = 2
    fake_client.fail("connectionSpecs", "prod")

    sandboxes_sync()

    assert list(Sandbox.objects.order_by("name").values_list("name", "sync_lease_token", "sync_lease_until")) == [
        ("dev", "", None),
        ("prod", "", None),
    ]
    assert sandbox_claim(sandbox_name="prod", token="next-worker"), "a failed sandbox can be synced again at once"


@pytest.mark.django_db(transaction=True)
def test_while_a_write_waits_the_other_sandboxes_keep_the_request_slots_listing_and_never_use_more(
    fake_client, settings, monkeypatch
):
    settings.FLOWADMIN_SYNC_CONCURRENCY = 2
    for number in range(8):
        fake_client.add_sandbox(f"more-{number}")
    counting = threading.Lock()
    in_flight = {"now": 0, "most": 0}

    def counted(call):
        def listing(sandbox, **kwargs):
            with counting:
                in_flight["now"] += 1
                in_flight["most"] = max(in_flight["most"], in_flight["now"])
            try:
                time.sleep(0.01)  # a round trip: long enough for listings to overlap
                return call(sandbox, **kwargs)
            finally:
                with counting:
                    in_flight["now"] -= 1

        return listing

    fake_client.list_flow_specs = counted(fake_client.list_flow_specs)
    fake_client.list_connection_specs = counted(fake_client.list_connection_specs)
    writing, go_on = threading.Event(), threading.Event()
    store = sync_writes.listings_store

    def first_write_slow(items, **kwargs):  # a commit stuck behind a long lock, say
        if not writing.is_set():
            writing.set()
            go_on.wait(timeout=30)
        return store(items, **kwargs)

    monkeypatch.setattr(sync_writes, "listings_store", first_write_slow)
    results = []
    syncing = threading.Thread(target=sync.in_own_connection(lambda: results.extend(sandboxes_sync())))
    syncing.start()
    try:
        assert writing.wait(timeout=30)
        deadline = time.monotonic() + 10
        while sum(1 for call, _ in fake_client.calls if call == "connectionSpecs") < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        listed_while_writing = sum(1 for call, _ in fake_client.calls if call == "connectionSpecs")
    finally:
        go_on.set()
        syncing.join(timeout=60)

    assert listed_while_writing >= 3, "a sandbox waiting to be written holds no request slot: more than 2 were listed"
    assert in_flight["most"] == 2, "never more requests at once than FLOWADMIN_SYNC_CONCURRENCY"
    assert len(results) == 10 and all(result.ok for result in results)


# --- runs ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_run_records_each_sandbox_with_its_outcome_and_counts(fake_client, staff_user):
    fake_client.fail("flowSpecs", "prod")

    started = sync_run_start(actor=staff_user, background=False)

    run = started.run
    assert started.created and run.finished_at is not None and run.requested_by_username == "staff"
    items = {item.sandbox_name: item for item in run.items.all()}
    assert items["dev"].state == "succeeded" and items["dev"].new == 2
    assert items["prod"].state == "failed" and "Something broke" in items["prod"].error
    assert not Sandbox.objects.exclude(sync_lease_token="").exists(), "every claim released"


@pytest.mark.django_db
def test_a_second_run_for_a_sandbox_being_synced_returns_the_first_run(fake_client):
    Sandbox.objects.create(name="dev")
    first = SyncRun.objects.create(scope="dev", token="first")
    assert sandbox_claim(sandbox_name="dev", token="first", run=first)

    started = sync_run_start(sandbox_name="dev", background=False)

    assert not started.created and started.run == first
    assert SyncRun.objects.count() == 1
    assert fake_client.calls == []


@pytest.mark.django_db
def test_a_run_whose_discovery_fails_finishes_with_the_error(fake_client):
    fake_client.fail("sandboxes", None)

    started = sync_run_start(background=False)

    assert started.run.finished_at is not None
    assert "Could not list the sandboxes" in started.run.error


@pytest.mark.django_db
def test_a_run_without_a_sign_of_life_for_a_lease_counts_as_abandoned(settings):
    settings.FLOWADMIN_SYNC_LEASE_SECONDS = 60
    run = SyncRun.objects.create(token="t", heartbeat_at=timezone.now() - timedelta(seconds=61))
    SyncRunSandbox.objects.create(run=run, sandbox_name="dev", state="running")

    assert run.is_abandoned and not run.is_active


# --- flowspec_cache_store -----------------------------------------------------------------------
def test_storing_a_document_flowadmin_applied_updates_cache_index_and_history_without_auditing(synced_dev):
    events = AuditEvent.objects.count()
    applied = flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API, UNKNOWN_ID])

    spec = flowspec_cache_store(sandbox_name="dev", document=applied, change_request_id=12)

    assert spec.source_count == 2
    assert spec.content_hash == documents.content_hash(applied)
    latest = spec.versions.order_by("-seen_at", "-id").first()
    assert (latest.origin, latest.change_request_id) == ("flowadmin", 12)
    sources = set(spec.attachments.filter(role="source").values_list("connection_spec_id", flat=True))
    assert sources == {HTTP_API, UNKNOWN_ID}
    assert AuditEvent.objects.count() == events


def test_storing_content_a_sync_already_saw_attributes_that_version_to_flowadmin(synced_dev):
    document = synced_dev.flow_specs["dev"][0]

    spec = flowspec_cache_store(sandbox_name="dev", document=document, change_request_id=3)

    assert list(spec.versions.values_list("origin", "change_request_id")) == [("flowadmin", 3)]


def test_storing_a_document_without_an_id_is_refused_and_writes_nothing(synced_dev):
    versions = FlowSpecVersion.objects.count()
    with pytest.raises(CatalogError):
        flowspec_cache_store(sandbox_name="dev", document={"name": "x"})
    assert FlowSpecVersion.objects.count() == versions


@pytest.mark.django_db
def test_a_sandbox_no_longer_active_remotely_is_skipped_by_a_run_and_released(fake_client):
    Sandbox.objects.create(name="retired", state="active")

    run = sync_run_start(background=False).run

    item = run.items.get(sandbox_name="retired")
    assert item.state == "skipped" and "no longer listed" in item.error
    assert Sandbox.objects.get(name="retired").sync_lease_token == ""
    assert fake_client.listings("retired") == 0


@pytest.mark.django_db
def test_a_run_of_all_sandboxes_claims_only_the_configured_ones(fake_client, settings):
    settings.FLOWADMIN_SANDBOXES = ["dev"]
    Sandbox.objects.create(name="prod")

    run = sync_run_start(background=False).run

    assert list(run.items.values_list("sandbox_name", "state")) == [("dev", "succeeded")]
