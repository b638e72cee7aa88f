"""Propose -> approve -> PUT -> cache -> audit over real HTTP against the embedded emulator.

The dashboard's views run in the test client; the Flow Service client they use talks HTTP to the
emulator on the live server, as it would to Adobe. Every fault the emulator can inject on the read
before the PUT or on the PUT itself must leave a correct state and an audit trail.
"""

import io
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from flowadmin import documents
from flowadmin.accounts.roles import APPROVERS_GROUP
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec, FlowSpecVersion
from flowadmin.catalog.services import sandbox_sync
from flowadmin.changes import services
from flowadmin.changes.models import ChangeRequest
from flowadmin.flowservice import get_client
from tests.changes.factories import propose
from tests.conftest import make_user
from tests.fixtures.emulator import FLOW_SPECS, GENERIC_STREAMING_ID, NEW_STREAMING_SOURCE_ID

SPEC_PATH = f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}"
PUBSUB = "70116022-a743-464a-bbfe-e226a7f8210c"  # Google PubSub
WAIT_SECONDS = 60
METADATA_CHANGED_BY_A_PUT = {"updatedAt", "updatedBy", "updatedClient"}


@pytest.fixture(autouse=True)
def _quick_retries_and_closed_connections(emulator, settings):
    settings.FLOWSERVICE_MAX_RETRIES = 2
    settings.FLOWSERVICE_BACKOFF = 0.001
    settings.FLOWSERVICE_BACKOFF_MAX = 0.01
    yield
    get_client().close()  # its kept-alive connections hold live-server threads and their database connections


@pytest.fixture
def spec(emulator):
    """GenericStreamingAEP of sandbox dev, cached by a real sync; the emulator's log starts empty."""
    assert sandbox_sync(sandbox_name="dev").ok
    emulator.clear_log()
    return FlowSpec.objects.get(sandbox__name="dev", spec_id=GENERIC_STREAMING_ID)


def story(change_request) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(change_request_id=change_request.pk).order_by("seq").values_list("action", "outcome")
    )


def approve(change_request, reviewer):
    return services.change_request_approve(
        change_request=change_request, reviewer=reviewer, digest=change_request.digest
    )


def puts(emulator) -> list[dict]:
    return emulator.log(method="PUT", path=SPEC_PATH)


def wait_for_put_to_finish(emulator) -> None:
    """A delayed PUT is still running on the server after the client gave up: wait for its log entry."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if any(entry["status"] for entry in puts(emulator)):
            return
        time.sleep(0.1)
    pytest.fail("the delayed PUT never finished")


def carries_new_source(emulator) -> bool:
    return NEW_STREAMING_SOURCE_ID in documents.source_ids(emulator.document("dev", GENERIC_STREAMING_ID))


# --- the whole path ----------------------------------------------------------------------------
def test_propose_approve_put_cache_and_audit_over_http(client, emulator, spec, staff_user, approver_user):
    before = emulator.document("dev", GENERIC_STREAMING_ID)
    ids = [*documents.source_ids(before), NEW_STREAMING_SOURCE_ID]

    client.force_login(staff_user)
    edit = reverse("changes:edit", args=["dev", GENERIC_STREAMING_ID])
    preview = client.post(
        reverse("changes:preview", args=["dev", GENERIC_STREAMING_ID]),
        {"source_connection_spec_ids": "\n".join(ids), "reason": "Acme Events goes live"},
        HTTP_HX_REQUEST="true",
    )
    assert "Acme Events Stream" in preview.text
    assert puts(emulator) == []
    response = client.post(
        edit, {"source_connection_spec_ids": "\n".join(ids), "reason": "Acme Events goes live", "submit": "1"}
    )
    change_request = ChangeRequest.objects.get()
    assert response["Location"] == reverse("changes:detail", args=[change_request.pk])

    client.force_login(approver_user)
    check = client.get(reverse("changes:check", args=[change_request.pk]), HTTP_HX_REQUEST="true")
    assert "applies as reviewed" in check.text
    client.post(reverse("changes:approve", args=[change_request.pk]), {"digest": change_request.digest})

    change_request.refresh_from_db()
    assert change_request.status == "applied"
    # The emulator's document carries the id, with every other field unchanged.
    after = emulator.document("dev", GENERIC_STREAMING_ID)
    assert documents.source_ids(after) == ids
    assert documents.put_body(after) == documents.with_source_ids(documents.put_body(before), ids)
    for key in set(before) - METADATA_CHANGED_BY_A_PUT:
        if key != "sourceConnectionSpecIds":
            assert after[key] == before[key], key
    [put] = puts(emulator)
    assert put["status"] == 200
    # The cache has the new version, from flowadmin.
    cached = FlowSpec.objects.get(pk=spec.pk)
    assert cached.document == after
    latest = FlowSpecVersion.objects.filter(flow_spec=cached).order_by("-seen_at", "-id").first()
    assert (latest.origin, latest.change_request_id, latest.content_hash) == (
        "flowadmin",
        change_request.pk,
        documents.content_hash(after),
    )
    # The audit log tells the story, in order, and its chain holds.
    assert story(change_request) == [
        ("change.proposed", "success"),
        ("change.approved", "success"),
        ("change.apply_started", "success"),
        ("change.applied", "success"),
    ]
    applied = AuditEvent.objects.get(change_request_id=change_request.pk, action="change.applied")
    assert applied.actor_username == "approver"
    flow_exchanges = [exchange for exchange in applied.exchanges if "/flowSpecs/" in exchange["url"]]
    assert [(exchange["method"], exchange["status"]) for exchange in flow_exchanges] == [
        ("GET", 200),
        ("PUT", 200),
        ("GET", 200),
    ]
    assert flow_exchanges[1]["request_id"] == put["request_id"]
    assert applied.patch == [{"op": "add", "path": "/sourceConnectionSpecIds/5", "value": NEW_STREAMING_SOURCE_ID}]
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "ok" in out.getvalue().lower() or "intact" in out.getvalue().lower()


def test_unknown_fields_of_the_remote_document_survive_the_put(emulator, staff_user, approver_user):
    document = emulator.document("dev", GENERIC_STREAMING_ID)
    body = documents.put_body(document)
    body["x-undocumented"] = {"nested": [1, 2.5, None, {"deep": "kept"}], "flag": False}
    body["runSpec"] = {"name": "Run", "spec": {"type": "object"}}
    assert emulator.put(SPEC_PATH, json=body).status_code == 200
    assert sandbox_sync(sandbox_name="dev").ok
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=GENERIC_STREAMING_ID)

    applied = approve(propose(spec, staff_user, add=[NEW_STREAMING_SOURCE_ID]), approver_user)

    assert applied.status == "applied"
    after = emulator.document("dev", GENERIC_STREAMING_ID)
    assert after["x-undocumented"] == body["x-undocumented"]
    assert after["runSpec"] == body["runSpec"]
    assert after["x-internalTier"] == document["x-internalTier"]
    assert list(documents.put_body(after)) == list(body)  # the field order too


def test_a_remote_change_before_approval_gives_stale_never_a_lost_update(emulator, spec, staff_user, approver_user):
    change_request = propose(spec, staff_user, add=[NEW_STREAMING_SOURCE_ID])
    elsewhere = documents.put_body(emulator.document("dev", GENERIC_STREAMING_ID))
    elsewhere["sourceConnectionSpecIds"].append(PUBSUB)
    assert emulator.put(SPEC_PATH, json=elsewhere).status_code == 200
    emulator.clear_log()

    stale = approve(change_request, approver_user)

    assert stale.status == "stale"
    assert puts(emulator) == []
    assert PUBSUB in documents.source_ids(stale.remote_document)
    assert story(stale)[-1] == ("change.stale", "success")

    rebased = services.change_request_rebase(change_request=stale, actor=staff_user)
    applied = approve(rebased, approver_user)

    assert applied.status == "applied"
    ids = documents.source_ids(emulator.document("dev", GENERIC_STREAMING_ID))
    assert ids[-2:] == [PUBSUB, NEW_STREAMING_SOURCE_ID]  # the other change survived
    assert len(puts(emulator)) == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks under real concurrency: PostgreSQL only")
def test_concurrent_approvals_send_exactly_one_put(emulator, spec, staff_user, django_user_model):
    change_request = propose(spec, staff_user, add=[NEW_STREAMING_SOURCE_ID])
    approvers = [make_user(django_user_model, f"approver{number}", APPROVERS_GROUP) for number in range(8)]
    start = threading.Barrier(len(approvers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def click(reviewer):
        try:
            start.wait()
            result = approve(ChangeRequest.objects.get(pk=change_request.pk), reviewer)
            outcome = result.status
        except services.ChangeRequestConflict:
            outcome = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=click, args=(reviewer,)) for reviewer in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)

    assert sorted(outcomes) == ["applied"] + ["refused"] * 7
    assert len(puts(emulator)) == 1
    assert [action for action, _ in story(change_request)].count("change.approved") == 1
    assert carries_new_source(emulator)


# --- faults ------------------------------------------------------------------------------------
RESPOND = [(status, shape) for status in (429, 500, 502, 503, 504) for shape in ("flow", "gateway", "html")]
OTHER_ACTIONS = ["drop", "malformed", "apply_then_drop", "delay"]
FAULTS = [("respond", status, shape) for status, shape in RESPOND] + [(action, None, None) for action in OTHER_ACTIONS]
FAULT_IDS = [f"{action}-{status}-{shape}" if status else action for action, status, shape in FAULTS]


def fault_rule(action, status, shape, *, method, times):
    rule = {"action": action, "method": method, "path": SPEC_PATH, "sandbox": "dev", "times": times}
    if action == "respond":
        rule.update(status=status, shape=shape, retry_after=0)
    if action == "delay":
        rule["delay_ms"] = 1500
    return rule


@pytest.mark.parametrize(("action", "status", "shape"), FAULTS, ids=FAULT_IDS)
def test_a_fault_on_the_read_before_the_put_fails_the_request_and_nothing_is_sent(
    emulator, spec, settings, staff_user, approver_user, second_approver, action, status, shape
):
    change_request = propose(spec, staff_user, add=[NEW_STREAMING_SOURCE_ID])
    get_client().auth.token()  # the token first, outside the slow answers
    if action == "delay":
        settings.FLOWSERVICE_READ_TIMEOUT = 0.5
    emulator.add_fault(**fault_rule(action, status, shape, method="GET", times=settings.FLOWSERVICE_MAX_RETRIES + 1))

    failed = approve(change_request, approver_user)

    assert failed.status == "failed"
    assert failed.error_title
    if action == "respond":
        assert failed.error_status == status
    emulator.clear_faults()
    assert puts(emulator) == []
    assert not carries_new_source(emulator)
    assert story(failed)[-1] == ("change.apply_failed", "failure")
    event = AuditEvent.objects.get(change_request_id=failed.pk, action="change.apply_failed")
    attempts = 1 if status == 500 else settings.FLOWSERVICE_MAX_RETRIES + 1  # reads retry passing trouble only
    assert len([exchange for exchange in event.exchanges if exchange["method"] == "GET"]) == attempts

    # Retryable: once the Flow Service is back, another approver retries and it applies.
    settings.FLOWSERVICE_READ_TIMEOUT = 30
    retried = services.change_request_retry(change_request=failed, reviewer=second_approver)
    assert retried.status == "applied"
    assert carries_new_source(emulator)
    assert len(puts(emulator)) == 1


# What a fault on the PUT leaves: "failed" (nothing applied, retryable), or "applying" with an unknown
# outcome that reconcile settles to what really happened.
PUT_SETTLES = {"drop": "failed", "malformed": "failed", "apply_then_drop": "applied", "delay": "applied"}


@pytest.mark.parametrize(("action", "status", "shape"), FAULTS, ids=FAULT_IDS)
def test_a_fault_on_the_put_leaves_a_correct_state_and_an_audit_trail(
    emulator, spec, settings, staff_user, approver_user, second_approver, action, status, shape
):
    change_request = propose(spec, staff_user, add=[NEW_STREAMING_SOURCE_ID])
    get_client().auth.token()
    if action == "delay":
        settings.FLOWSERVICE_READ_TIMEOUT = 0.5
    emulator.add_fault(**fault_rule(action, status, shape, method="PUT", times=1))

    result = approve(change_request, approver_user)

    if action == "respond":
        [put] = puts(emulator)
        assert result.status == "failed"
        assert (result.error_status, bool(result.error_title)) == (status, True)
        assert result.error_request_id == put["request_id"]
        assert not carries_new_source(emulator)
        assert story(result)[-1] == ("change.apply_failed", "failure")
        event = AuditEvent.objects.get(change_request_id=result.pk, action="change.apply_failed")
        assert [exchange["status"] for exchange in event.exchanges if exchange["method"] == "PUT"] == [status]
        retried = services.change_request_retry(change_request=result, reviewer=second_approver)
        assert retried.status == "applied"
        assert carries_new_source(emulator)
        assert len(puts(emulator)) == 2
        return
    assert result.status == "applying"
    assert result.outcome_unknown
    assert story(result)[-1] == ("change.apply_failed", "unknown")
    if action == "delay":
        wait_for_put_to_finish(emulator)
    settings.FLOWSERVICE_READ_TIMEOUT = 30
    settings.FLOWADMIN_APPLY_GRACE_SECONDS = 0
    out = io.StringIO()
    call_command("reconcile_changes", stdout=out)

    settled = ChangeRequest.objects.get(pk=change_request.pk)
    expected = PUT_SETTLES[action]
    assert settled.status == expected
    assert f"#{settled.pk} dev/{GENERIC_STREAMING_ID}: {expected}" in out.getvalue()
    assert carries_new_source(emulator) is (expected == "applied")
    assert story(settled)[-1] == ("change.reconciled", "success" if expected == "applied" else "failure")
    assert len(puts(emulator)) == 1
    cached = FlowSpec.objects.get(pk=spec.pk)
    assert (NEW_STREAMING_SOURCE_ID in documents.source_ids(cached.document)) is (expected == "applied")


def test_reconcile_leaves_a_request_inside_its_grace_period_alone(emulator, spec, settings, staff_user, approver_user):
    emulator.add_fault(action="apply_then_drop", method="PUT", path=SPEC_PATH, times=1)
    result = approve(propose(spec, staff_user, add=[NEW_STREAMING_SOURCE_ID]), approver_user)
    assert result.status == "applying"
    settings.FLOWADMIN_APPLY_GRACE_SECONDS = 3600
    out = io.StringIO()
    call_command("reconcile_changes", stdout=out)
    assert "No change request to settle." in out.getvalue()
    assert ChangeRequest.objects.get(pk=result.pk).status == "applying"
