"""Prometheus metrics computed from the database at scrape time.

Several gunicorn processes serve flowadmin: counters kept in one process's memory would each tell a
part of the story. Every figure here is read from the tables when /metrics is scraped, so any
process answers the same: a constant number of grouped, indexed queries whatever the data's size.

* change requests by state, and those left ``applying`` (the PUT's answer was lost: waiting for
  ``reconcile_changes``) with the age of the oldest (`ChangeRequest`);
* apply attempts by outcome and reconciliations by result, sync failures per sandbox (the audit
  log is append-only, so these are true counters);
* per sandbox: last successful sync, last attempt, whether it is failing (`Sandbox`), and the
  duration of its latest sync among the last `RECENT_RUNS` sync runs (`SyncRunSandbox`);
* task queues: `flowadmin.ops.queues`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError
from django.db.models import BooleanField, Count, ExpressionWrapper, Min, Q
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from flowadmin.ops.queues import queue_sources

logger = logging.getLogger("flowadmin.ops")

RECENT_RUNS = 10
UNKNOWN_OUTCOME_CODE = "outcome-unknown"  # flowadmin.flowservice.errors.CODE_OUTCOME_UNKNOWN
# Audit actions counted, and the apply outcome each (action, outcome) stands for.
APPLY_OUTCOMES = {
    ("change.applied", "success"): "applied",
    ("change.apply_failed", "failure"): "failed",
    ("change.apply_failed", "unknown"): "unknown",
    ("change.stale", "success"): "stale",
}
RECONCILED = "change.reconciled"
SYNC_FAILED = "sandbox.sync_failed"


def _seconds(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def change_request_metrics() -> Iterator[Metric]:
    from flowadmin.changes.models import STATUS_VALUES, ChangeRequest

    rows = (
        ChangeRequest.objects.order_by()
        .values("status")
        .annotate(
            count=Count("id"),
            unknown=Count("id", filter=Q(error_code=UNKNOWN_OUTCOME_CODE)),
            oldest=Min("apply_started_at"),
        )
    )
    by_status = {row["status"]: row for row in rows}
    states = GaugeMetricFamily(
        "flowadmin_change_requests", "Change requests by state (pending, applying, applied, ...).", labels=["state"]
    )
    for status in STATUS_VALUES:
        states.add_metric([status], by_status.get(status, {}).get("count", 0))
    yield states
    applying = by_status.get("applying", {})
    yield GaugeMetricFamily(
        "flowadmin_change_requests_outcome_unknown",
        "Change requests left applying because the PUT's answer was lost: reconcile_changes settles them.",
        value=applying.get("unknown", 0),
    )
    oldest = applying.get("oldest")
    age = GaugeMetricFamily(
        "flowadmin_change_requests_applying_oldest_age_seconds",
        "Age of the oldest apply still in progress or unsettled (absent when none is).",
    )
    if oldest is not None:
        age.add_metric([], max(0.0, (timezone.now() - oldest).total_seconds()))
    yield age


def audit_metrics() -> Iterator[Metric]:
    from flowadmin.audit.models import AuditEvent

    actions = sorted({action for action, _ in APPLY_OUTCOMES} | {RECONCILED, SYNC_FAILED})
    rows = (
        AuditEvent.objects.filter(action__in=actions)
        .order_by()
        .values("action", "outcome", "sandbox")
        .annotate(count=Count("seq"))
    )
    applied = dict.fromkeys(["applied", "failed", "stale", "unknown"], 0)
    reconciled = {"applied": 0, "failed": 0}
    sync_failures: dict[str, int] = defaultdict(int)
    for row in rows:
        key = (row["action"], row["outcome"])
        if key in APPLY_OUTCOMES:
            applied[APPLY_OUTCOMES[key]] += row["count"]
        elif row["action"] == RECONCILED:
            reconciled["applied" if row["outcome"] == "success" else "failed"] += row["count"]
        elif row["action"] == SYNC_FAILED:
            sync_failures[row["sandbox"]] += row["count"]
    attempts = CounterMetricFamily(
        "flowadmin_change_apply_attempts",
        "Apply attempts of change requests by outcome: applied, failed (the PUT or the read before it), "
        "stale (nothing sent: the remote document had changed), unknown (the PUT's answer was lost).",
        labels=["outcome"],
    )
    for outcome, count in applied.items():
        attempts.add_metric([outcome], count)
    yield attempts
    settled = CounterMetricFamily(
        "flowadmin_change_reconciled", "Unknown outcomes settled by reading the flow spec back.", labels=["result"]
    )
    for result, count in reconciled.items():
        settled.add_metric([result], count)
    yield settled
    failures = CounterMetricFamily("flowadmin_sandbox_sync_failures", "Failed syncs per sandbox.", labels=["sandbox"])
    for sandbox, count in sorted(sync_failures.items()):
        failures.add_metric([sandbox], count)
    yield failures


def sandbox_metrics() -> Iterator[Metric]:
    from flowadmin.catalog.models import Sandbox, SyncRun, SyncRunSandbox

    rows = (
        Sandbox.objects.order_by("name")
        .annotate(failing=ExpressionWrapper(~Q(last_sync_error=""), output_field=BooleanField()))
        .values_list("name", "last_synced_at", "last_sync_attempt_at", "failing")
    )
    success = GaugeMetricFamily(
        "flowadmin_sandbox_last_sync_success_timestamp_seconds",
        "End of the sandbox's last successful sync (Unix time).",
        labels=["sandbox"],
    )
    attempt = GaugeMetricFamily(
        "flowadmin_sandbox_last_sync_attempt_timestamp_seconds",
        "End of the sandbox's last sync, successful or not (Unix time).",
        labels=["sandbox"],
    )
    failing = GaugeMetricFamily(
        "flowadmin_sandbox_sync_failing",
        "1 when the sandbox's last sync failed (its cache is older).",
        labels=["sandbox"],
    )
    for name, synced_at, attempted_at, is_failing in rows:
        if synced_at is not None:
            success.add_metric([name], _seconds(synced_at))
        if attempted_at is not None:
            attempt.add_metric([name], _seconds(attempted_at))
        failing.add_metric([name], 1 if is_failing else 0)
    yield from (success, attempt, failing)

    recent_runs = SyncRun.objects.filter(finished_at__isnull=False).order_by("-finished_at").values("pk")
    items = (
        SyncRunSandbox.objects.filter(
            run__in=recent_runs[:RECENT_RUNS], started_at__isnull=False, finished_at__isnull=False
        )
        .order_by("-finished_at")
        .values_list("sandbox_name", "started_at", "finished_at")
    )
    duration = GaugeMetricFamily(
        "flowadmin_sandbox_sync_duration_seconds",
        f"Duration of the sandbox's latest sync among the last {RECENT_RUNS} sync runs.",
        labels=["sandbox"],
    )
    seen: set[str] = set()
    for name, started_at, finished_at in items:
        if name not in seen:
            seen.add(name)
            duration.add_metric([name], max(0.0, (finished_at - started_at).total_seconds()))
    yield duration


def queue_metrics() -> Iterator[Metric]:
    depth = GaugeMetricFamily("flowadmin_task_queue_depth", "Tasks waiting to start, per queue.", labels=["queue"])
    age = GaugeMetricFamily(
        "flowadmin_task_queue_oldest_age_seconds", "Age of the oldest task waiting, per queue.", labels=["queue"]
    )
    for name, source in queue_sources():
        try:
            stats = source()
        except Exception:
            logger.exception("task queue source %r failed; left out of this scrape", name)
            continue
        depth.add_metric([name], stats.depth)
        if stats.oldest_enqueued_at is not None:
            age.add_metric([name], max(0.0, (timezone.now() - stats.oldest_enqueued_at).total_seconds()))
    yield from (depth, age)


class DatabaseCollector(Collector):
    """Everything above; `flowadmin_database_up` says whether the database answered this scrape."""

    def collect(self) -> Iterator[Metric]:
        metrics: list[Metric] = []
        up = 1
        try:
            for family in (change_request_metrics, audit_metrics, sandbox_metrics):
                metrics.extend(family())
        except DatabaseError:
            logger.exception("metrics: the database did not answer")
            metrics, up = [], 0
        yield GaugeMetricFamily("flowadmin_database_up", "1 when the database answered this scrape.", value=up)
        yield from metrics
        yield from queue_metrics()


def registry() -> CollectorRegistry:
    """A registry holding only flowadmin's collector (no per-process metrics: they would differ by worker)."""
    collectors = CollectorRegistry(auto_describe=False)
    collectors.register(DatabaseCollector())
    return collectors
