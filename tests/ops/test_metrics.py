"""/metrics: who may read it, and figures computed from the database (the same in every web process)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from flowadmin.audit.services import audit_record
from flowadmin.catalog.models import SyncRun, SyncRunSandbox
from flowadmin.changes.models import ChangeRequest
from flowadmin.ops.queues import QueueStats, queue_source_register, queue_source_unregister
from tests.catalog.factories import make_sandbox

METRICS = "/metrics"
TOKEN = "metrics-token-0123456789abcdefghijklmnop"


def scrape(client, **extra) -> dict[tuple[str, tuple], float]:
    response = client.get(METRICS, **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def allowed(settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "2001:db8::/32"]
    settings.METRICS_TOKEN = ""
    settings.BEHIND_PROXY = False
    return settings


# --- access ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_only_the_allowed_addresses_get_the_metrics_and_nobody_is_sent_to_log_in(client, allowed):
    assert client.get(METRICS, REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get(METRICS, REMOTE_ADDR="2001:db8::7").status_code == 200
    refused = client.get(METRICS, REMOTE_ADDR="192.0.2.1")
    assert refused.status_code == 403
    assert "METRICS_ALLOWED_IPS" in refused.text and "flowadmin_" not in refused.text


@pytest.mark.django_db
def test_a_bearer_token_opens_the_metrics_from_anywhere_and_a_wrong_one_does_not(client, allowed):
    allowed.METRICS_TOKEN = TOKEN
    assert client.get(METRICS, REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert client.get(METRICS, REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 403
    assert client.get(METRICS, REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 403


@pytest.mark.django_db
def test_behind_a_proxy_the_real_client_must_be_allowed_not_the_proxy(client, allowed):
    allowed.BEHIND_PROXY = True
    allowed.TRUSTED_PROXY_COUNT = 1
    allowed.TRUSTED_PROXIES = []
    # The proxy (10.0.0.2, an allowed network) passes on a request from the internet: refused.
    assert client.get(METRICS, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 403
    assert client.get(METRICS, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 200
    # A scraper on the internal network calling the server directly (no forwarded header).
    assert client.get(METRICS, REMOTE_ADDR="10.0.0.50").status_code == 200


# --- figures -----------------------------------------------------------------------------------
def change_request(status: str, n: int, **fields) -> ChangeRequest:
    document = {"id": f"00000000-0000-4000-8000-{n:012d}", "name": "Spec", "sourceConnectionSpecIds": []}
    return ChangeRequest.objects.create(
        sandbox="dev",
        spec_id=document["id"],
        base_hash="0" * 64,
        base_document=document,
        proposed_document=document,
        reason="Onboard",
        author_username="staff",
        status=status,
        digest="1" * 64,
        **fields,
    )


def history(now):
    """Change requests in several states, their audited apply attempts, sandboxes and sync runs."""
    for n, status in enumerate(["pending", "pending", "applied", "failed", "stale", "rejected"]):
        change_request(status, n)
    change_request("applying", 10, error_code="outcome-unknown", apply_started_at=now - timedelta(minutes=5))
    change_request("applying", 11, apply_started_at=now - timedelta(seconds=30))
    for action, outcome in [
        ("change.applied", "success"),
        ("change.applied", "success"),
        ("change.apply_failed", "failure"),
        ("change.apply_failed", "unknown"),
        ("change.stale", "success"),
        ("change.reconciled", "success"),
        ("change.approved", "success"),  # not an apply attempt
    ]:
        audit_record(action=action, outcome=outcome, sandbox="dev")
    for sandbox in ("dev", "prod", "prod"):
        audit_record(action="sandbox.sync_failed", outcome="failure", sandbox=sandbox)
    make_sandbox("dev", last_synced_at=now - timedelta(minutes=2), last_sync_attempt_at=now - timedelta(minutes=2))
    make_sandbox("prod", last_sync_attempt_at=now - timedelta(minutes=1), last_sync_error="HTTP 500")
    older = SyncRun.objects.create(token="a", finished_at=now - timedelta(hours=1))
    newer = SyncRun.objects.create(token="b", finished_at=now - timedelta(minutes=1))
    for run, seconds in ((older, 9), (newer, 4)):
        SyncRunSandbox.objects.create(
            run=run,
            sandbox_name="dev",
            state="succeeded",
            started_at=run.finished_at - timedelta(seconds=seconds),
            finished_at=run.finished_at,
        )


@pytest.mark.django_db
def test_the_figures_come_from_the_change_audit_and_catalog_tables(client, allowed):
    now = timezone.now()
    history(now)
    samples = scrape(client, REMOTE_ADDR="10.0.0.1")

    assert value(samples, "flowadmin_database_up") == 1
    states = {state: value(samples, "flowadmin_change_requests", state=state) for state in ("pending", "applying")}
    assert states == {"pending": 2, "applying": 2}
    assert value(samples, "flowadmin_change_requests", state="withdrawn") == 0
    assert value(samples, "flowadmin_change_requests_outcome_unknown") == 1
    assert 300 <= value(samples, "flowadmin_change_requests_applying_oldest_age_seconds") < 3600
    attempts = {
        outcome: value(samples, "flowadmin_change_apply_attempts_total", outcome=outcome)
        for outcome in ("applied", "failed", "stale", "unknown")
    }
    assert attempts == {"applied": 2, "failed": 1, "stale": 1, "unknown": 1}
    assert value(samples, "flowadmin_change_reconciled_total", result="applied") == 1
    assert value(samples, "flowadmin_sandbox_sync_failures_total", sandbox="prod") == 2
    assert value(samples, "flowadmin_sandbox_sync_failures_total", sandbox="dev") == 1
    assert value(samples, "flowadmin_sandbox_sync_failing", sandbox="prod") == 1
    assert value(samples, "flowadmin_sandbox_sync_failing", sandbox="dev") == 0
    synced = value(samples, "flowadmin_sandbox_last_sync_success_timestamp_seconds", sandbox="dev")
    assert synced == pytest.approx((now - timedelta(minutes=2)).timestamp(), abs=1)
    assert value(samples, "flowadmin_sandbox_last_sync_success_timestamp_seconds", sandbox="prod") is None
    assert value(samples, "flowadmin_sandbox_sync_duration_seconds", sandbox="dev") == pytest.approx(4)


@pytest.mark.django_db
def test_a_scrape_costs_the_same_queries_however_much_data_there_is(client, allowed):
    make_sandbox("stage")
    with CaptureQueriesContext(connection) as few:
        scrape(client, REMOTE_ADDR="10.0.0.1")
    history(timezone.now())
    for n in range(20):
        make_sandbox(f"sandbox{n}", last_sync_error="down")
        change_request("pending", 100 + n)
        audit_record(action="sandbox.sync_failed", outcome="failure", sandbox=f"sandbox{n}")
    with CaptureQueriesContext(connection) as many:
        scrape(client, REMOTE_ADDR="10.0.0.1")
    assert len(many) == len(few) == 4  # change requests, audit events, sandboxes, recent sync runs


@pytest.mark.django_db
def test_task_queues_are_reported_from_the_sources_a_worker_registers(client, allowed):
    enqueued = timezone.now() - timedelta(seconds=90)

    def broken():
        raise RuntimeError("queue table missing")

    queue_source_register("default", lambda: QueueStats(depth=3, oldest_enqueued_at=enqueued))
    queue_source_register("empty", lambda: QueueStats(depth=0))
    queue_source_register("broken", broken)
    try:
        samples = scrape(client, REMOTE_ADDR="10.0.0.1")
    finally:
        for name in ("default", "empty", "broken"):
            queue_source_unregister(name)
    assert value(samples, "flowadmin_task_queue_depth", queue="default") == 3
    assert 90 <= value(samples, "flowadmin_task_queue_oldest_age_seconds", queue="default") < 600
    assert value(samples, "flowadmin_task_queue_depth", queue="empty") == 0
    assert value(samples, "flowadmin_task_queue_oldest_age_seconds", queue="empty") is None
    assert value(samples, "flowadmin_task_queue_depth", queue="broken") is None
    assert value(samples, "flowadmin_database_up") == 1
    assert value(scrape(client, REMOTE_ADDR="10.0.0.1"), "flowadmin_task_queue_depth", queue="default") is None


@pytest.mark.django_db
def test_a_scrape_while_the_database_is_down_says_so(client, allowed, monkeypatch):
    from django.db import OperationalError

    from flowadmin.catalog.models import Sandbox

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(type(Sandbox.objects.none()), "_fetch_all", down)
    samples = scrape(client, REMOTE_ADDR="10.0.0.1")
    assert value(samples, "flowadmin_database_up") == 0
    assert not [name for name, _ in samples if name.startswith("flowadmin_change")]
