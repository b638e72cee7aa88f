"""Rollouts: one reviewed change of a flow spec's source connection spec ids, applied sandbox by sandbox.

Each step of a rollout *is* a change request (`RolloutStep.change_request`, one-to-one), created
pending for every sandbox when the rollout is proposed. So the one-open-request-per-flow-spec rule
holds across rollouts and single requests alike (the database's partial unique index), and every
step is applied by the change-request machinery itself: stale check, one PUT, verification, cache,
audit. Those requests are decided only through their rollout (`flowadmin.changes.services` refuses
anyone else).

Rows are written only by `flowadmin.rollouts.services`; pages read them through
`flowadmin.rollouts.selectors`.

Status machine::

    pending  -> applying                  (enough approvals for the next step: a run claims it)
    applying -> pending                   (the next step's sandbox needs more approvals)
    applying -> stopped                   (a step failed, went stale, its outcome is unknown, or a freeze holds it)
    applying -> completed                 (every step applied)
    stopped  -> applying                  (an approver resumes it)
    stopped  -> pending                   (a stale step was rebased: the approvals start again)
    pending | stopped -> rejected | withdrawn
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

STATUS_VALUES = ["pending", "applying", "stopped", "completed", "rejected", "withdrawn"]


class Rollout(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        APPLYING = "applying", "applying"
        STOPPED = "stopped", "stopped"
        COMPLETED = "completed", "completed"
        REJECTED = "rejected", "rejected"
        WITHDRAWN = "withdrawn", "withdrawn"

    OPEN_STATUSES = (Status.PENDING, Status.APPLYING, Status.STOPPED)

    spec_id = models.CharField(max_length=64)
    spec_name = models.CharField(max_length=255, blank=True)
    added_ids = models.JSONField(default=list, help_text="Ids the author asked to add (each step adds those it lacks).")
    removed_ids = models.JSONField(default=list, help_text="Ids the author asked to remove.")
    reason = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    author_username = models.CharField(max_length=150)
    source_change_request_id = models.BigIntegerField(
        null=True, blank=True, help_text="The change request the rollout was started from, if any."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    digest = models.CharField(max_length=64, help_text="What approvals are bound to (see rollout_digest).")
    prod_approvals_required = models.PositiveSmallIntegerField(
        default=2,
        help_text="What a production step needed when proposed (a record only: the rule book counts at each step).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The run that holds the rollout while it is applying: claimed and released by conditional updates.
    run_token = models.CharField(max_length=32, blank=True)
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the run.")
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_position = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The step it stopped at.")
    stop_detail = models.TextField(blank=True, help_text="Why it stopped.")
    completed_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True, help_text="When it was rejected or withdrawn.")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewer_username = models.CharField(max_length=150, blank=True)
    review_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=STATUS_VALUES), name="rollouts_rollout_status"),
            models.CheckConstraint(condition=~Q(reason=""), name="rollouts_rollout_reason_not_blank"),
            models.CheckConstraint(condition=Q(digest__regex=r"^[0-9a-f]{64}$"), name="rollouts_rollout_digest"),
            models.CheckConstraint(condition=Q(prod_approvals_required__gte=1), name="rollouts_prod_approvals_min"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="rollouts_status_created"),
            models.Index(fields=["spec_id", "created_at"], name="rollouts_rollout_spec"),
        ]

    def __str__(self) -> str:
        return f"rollout #{self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_abandoned(self) -> bool:
        """Applying, but its run gave no sign of life for FLOWADMIN_APPLY_GRACE_SECONDS: Resume takes it over."""
        if self.status != self.Status.APPLYING or self.run_heartbeat_at is None:
            return False
        return timezone.now() - self.run_heartbeat_at > timedelta(seconds=settings.FLOWADMIN_APPLY_GRACE_SECONDS)

    @property
    def is_decidable(self) -> bool:
        """Reject or withdraw may apply (not while a run holds it, not once it is closed)."""
        return self.status in (self.Status.PENDING, self.Status.STOPPED)


class RolloutStep(models.Model):
    """One sandbox of a rollout, in its place; the change itself is the step's change request."""

    rollout = models.ForeignKey(Rollout, on_delete=models.PROTECT, related_name="steps")
    position = models.PositiveSmallIntegerField(help_text="1 for the first sandbox.")
    sandbox = models.CharField(max_length=255)
    is_production = models.BooleanField(default=False, help_text="A production sandbox when proposed.")
    change_request = models.OneToOneField(
        "changes.ChangeRequest", on_delete=models.PROTECT, related_name="rollout_step"
    )

    class Meta:
        ordering = ["rollout", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rollout", "position"], name="rollouts_step_position_unique"),
            models.UniqueConstraint(fields=["rollout", "sandbox"], name="rollouts_step_sandbox_unique"),
            models.CheckConstraint(condition=Q(position__gte=1), name="rollouts_step_position_min"),
        ]

    def __str__(self) -> str:
        return f"rollout #{self.rollout_id} step {self.position} ({self.sandbox})"


class RolloutApproval(models.Model):
    """One approver's approval of a rollout as it was (its digest); a rebased step makes it stop counting."""

    rollout = models.ForeignKey(Rollout, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    approver_username = models.CharField(max_length=150)
    digest = models.CharField(max_length=64)
    comment = models.TextField(blank=True)
    emergency = models.BooleanField(default=False, help_text="Given during a freeze, with a reason (the comment).")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # The same approver cannot count twice for the same rollout digest.
            models.UniqueConstraint(fields=["rollout", "digest", "approver"], name="rollouts_one_approval_each"),
            models.UniqueConstraint(
                fields=["rollout", "digest", "approver_username"], name="rollouts_one_approval_each_name"
            ),
        ]

    def __str__(self) -> str:
        return f"approval of rollout #{self.rollout_id} by {self.approver_username}"


def rollout_digest(*, spec_id: str, steps: Iterable[tuple[str, str, Iterable[str], Iterable[str]]]) -> str:
    """sha256 (hex) over what an approval is bound to: the flow spec, then every step in its order with its
    sandbox, base hash, and the ids it adds and removes. ``steps``: ``(sandbox, base_hash, added, removed)``."""
    payload = [spec_id, [[sandbox, base, sorted(added), sorted(removed)] for sandbox, base, added, removed in steps]]
    return hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode("utf-8")).hexdigest()
