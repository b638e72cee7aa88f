"""Change requests: a proposed change of one flow spec's source connection spec ids, its review and its apply.

Rows are written only by `flowadmin.changes.services`; pages read them through
`flowadmin.changes.selectors`.

Status machine::

    pending -> approved -> applying -> applied | failed       (the last approval its sandbox needs applies it)
                           applying -> stale                   (the remote changed since the base)
    failed  -> applying                                        (retry by an approver)
    pending -> rejected | withdrawn
    stale   -> withdrawn | rejected                            (or rebased: a new pending request)

At most one request per flow spec is *open* (pending, approved, applying, or stale and not yet
rebased): a partial unique index says so in the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

STATUS_VALUES = ["pending", "approved", "applying", "applied", "failed", "rejected", "withdrawn", "stale"]


class ChangeRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        APPROVED = "approved", "approved"
        APPLYING = "applying", "applying"
        APPLIED = "applied", "applied"
        FAILED = "failed", "failed"
        REJECTED = "rejected", "rejected"
        WITHDRAWN = "withdrawn", "withdrawn"
        STALE = "stale", "stale"

    # Open for the one-open-request-per-flow-spec rule (a stale request until it is rebased).
    OPEN_STATUSES = (Status.PENDING, Status.APPROVED, Status.APPLYING)
    DECIDED_STATUSES = (Status.APPLIED, Status.FAILED, Status.REJECTED, Status.WITHDRAWN, Status.STALE)

    sandbox = models.CharField(max_length=255, help_text="Sandbox name.")
    spec_id = models.CharField(max_length=64)
    flow_spec = models.ForeignKey(
        "catalog.FlowSpec", on_delete=models.SET_NULL, null=True, blank=True, related_name="change_requests"
    )
    base_hash = models.CharField(max_length=64, help_text="Content hash of the document the change was made on.")
    base_document = models.JSONField(help_text="The cached document at the moment of proposing.")
    proposed_document = models.JSONField(help_text="The base document with the proposed id list.")
    added_ids = models.JSONField(default=list)
    removed_ids = models.JSONField(default=list)
    reason = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="change_requests"
    )
    author_username = models.CharField(max_length=150)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewer_username = models.CharField(max_length=150, blank=True)
    review_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    apply_started_at = models.DateTimeField(null=True, blank=True, help_text="Start of the latest apply attempt.")
    applied_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Apply attempts started.")
    error_status = models.IntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_title = models.CharField(max_length=255, blank=True)
    error_detail = models.TextField(blank=True)
    error_request_id = models.CharField(max_length=255, blank=True)
    remote_document = models.JSONField(
        null=True, blank=True, help_text="The remote document as last read while applying (what a stale request met)."
    )
    digest = models.CharField(max_length=64, help_text="What an approval is bound to (see change_digest).")
    rebased_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="rebased_into"
    )
    superseded_at = models.DateTimeField(null=True, blank=True, help_text="When a stale request was rebased.")
    revised_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="revisions",
        help_text="The rejected or withdrawn request this one revises.",
    )
    impact = models.JSONField(
        null=True,
        blank=True,
        help_text="The dataflows that depended on the removed ids when it was proposed (changes.impact.Impact).",
    )
    impact_enabled = models.PositiveIntegerField(
        default=0, help_text="Enabled dataflows depending on the removal when proposed: it needs one more approval."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=STATUS_VALUES), name="changes_request_status"),
            models.UniqueConstraint(
                fields=["sandbox", "spec_id"],
                condition=Q(status__in=["pending", "approved", "applying"])
                | Q(status="stale", superseded_at__isnull=True),
                name="changes_one_open_request_per_flowspec",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="changes_request_reason_not_blank"),
            models.CheckConstraint(condition=Q(digest__regex=r"^[0-9a-f]{64}$"), name="changes_request_digest"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="changes_request_status_created"),
            models.Index(fields=["sandbox", "spec_id", "created_at"], name="changes_request_spec"),
            models.Index(fields=["author", "created_at"], name="changes_request_author"),
        ]

    def __str__(self) -> str:
        return f"change request #{self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES or (self.status == self.Status.STALE and self.superseded_at is None)

    @property
    def is_decidable(self) -> bool:
        """Approve (pending only), reject or withdraw (pending, or stale and not rebased) may apply."""
        return self.status == self.Status.PENDING or (self.status == self.Status.STALE and self.superseded_at is None)

    @property
    def has_error(self) -> bool:
        return bool(self.error_title or self.error_code)

    @property
    def outcome_unknown(self) -> bool:
        return self.status == self.Status.APPLYING and self.error_code == "outcome-unknown"

    @property
    def spec_name(self) -> str:
        """The flow spec's name as proposed (read by the query as ``base_name`` when the base is not)."""
        if "base_name" in self.__dict__:  # selectors.change_request_for_review
            name = self.__dict__["base_name"]
        else:
            name = self.base_document.get("name") if isinstance(self.base_document, dict) else None
        return name if isinstance(name, str) and name else self.spec_id


class Approval(models.Model):
    """One approver's approval of a change request as it was (its digest).

    An approval counts while its digest is the request's and it is not dismissed: editing,
    withdrawing or rebasing a request dismisses its approvals (``dismissed_at``, ``dismissed_why``).
    """

    change_request = models.ForeignKey(ChangeRequest, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    approver_username = models.CharField(max_length=150)
    digest = models.CharField(max_length=64, help_text="The change as the approver reviewed it.")
    comment = models.TextField(blank=True)
    emergency = models.BooleanField(default=False, help_text="Given during a freeze, with a reason (the comment).")
    created_at = models.DateTimeField(default=timezone.now)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_why = models.CharField(max_length=32, blank=True, help_text="edited, withdrawn or rebased")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["change_request", "digest", "approver"],
                condition=Q(dismissed_at__isnull=True),
                name="changes_one_approval_each",
            ),
        ]

    def __str__(self) -> str:
        return f"approval of change request #{self.change_request_id} by {self.approver_username}"


class RemovalImpact(models.Model):
    """The last reading of which dataflows use connection spec ids a flow spec would lose (the cache).

    One row per sandbox, flow spec and set of removed ids (``removed_key``); each check replaces it.
    ``error`` holds the Flow Service's failure when the dataflows could not be read.
    """

    sandbox = models.CharField(max_length=255)
    spec_id = models.CharField(max_length=64)
    removed_key = models.CharField(max_length=64, help_text="sha256 of the sorted removed ids.")
    removed_ids = models.JSONField(default=list)
    dataflows = models.JSONField(default=list)
    error = models.JSONField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0, help_text="HTTP requests the reading took.")
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sandbox", "spec_id", "removed_key"], name="changes_one_impact_per_removal")
        ]

    def __str__(self) -> str:
        return f"impact of removing {len(self.removed_ids)} id(s) from {self.spec_id} in {self.sandbox}"


def change_digest(*, sandbox: str, spec_id: str, base_hash: str, added: Iterable[str], removed: Iterable[str]) -> str:
    """sha256 (hex) over what an approval is bound to: where, on which base, which ids in and out."""
    payload = [sandbox, spec_id, base_hash, sorted(added), sorted(removed)]
    return hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode("utf-8")).hexdigest()
