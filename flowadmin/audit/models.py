"""The audit trail: append-only, hash-chained events.

Rows are written only by `flowadmin.audit.services.audit_record`. Once written, an event is never
updated or deleted: the model and its queryset refuse to, and on PostgreSQL triggers refuse it in
the database too (migration 0002). The single exception is what `on_delete=SET_NULL` does when a
user is deleted: `actor_id` becomes NULL, the copied `actor_username` stays, and since the hash does
not cover `actor_id` the chain stays valid.
"""

import re

from django.conf import settings
from django.db import models

from flowadmin.db_fields import DocumentField

UPDATE_REFUSED = "Audit events are append-only: they cannot be changed."
DELETE_REFUSED = "Audit events are append-only: they cannot be deleted."
CHECKPOINT_UPDATE_REFUSED = "Audit checkpoints are append-only: they cannot be changed."
CHECKPOINT_DELETE_REFUSED = "Audit checkpoints are append-only: they cannot be deleted."
GENESIS_HASH = "0" * 64
# The ids `AuditSearchTerm` keeps (search text is lower-cased): flow spec, connection spec and
# correlation ids are all UUIDs.
SEARCH_TERM = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class AuditImmutableError(Exception):
    """Raised on any attempt to change or delete a written audit event."""


class AuditAction(models.TextChoices):
    """The fixed vocabulary of audited actions; add members here (and a migration) to extend it."""

    SANDBOX_SYNCED = "sandbox.synced", "Sandbox synced"
    SANDBOX_SYNC_FAILED = "sandbox.sync_failed", "Sandbox sync failed"
    FLOWSPEC_CHANGED_REMOTELY = "flowspec.changed_remotely", "Flow spec changed remotely"
    CHANGE_PROPOSED = "change.proposed", "Change proposed"
    CHANGE_WITHDRAWN = "change.withdrawn", "Change withdrawn"
    CHANGE_APPROVED = "change.approved", "Change approved"
    CHANGE_REJECTED = "change.rejected", "Change rejected"
    CHANGE_STALE = "change.stale", "Change became stale"
    CHANGE_REBASED = "change.rebased", "Change rebased"
    CHANGE_APPLY_STARTED = "change.apply_started", "Change apply started"
    CHANGE_APPLIED = "change.applied", "Change applied"
    CHANGE_APPLY_FAILED = "change.apply_failed", "Change apply failed"
    CHANGE_RECONCILED = "change.reconciled", "Change reconciled"
    CHANGE_EDITED = "change.edited", "Change edited"
    ROLLOUT_PROPOSED = "rollout.proposed", "Rollout proposed"
    ROLLOUT_APPROVED = "rollout.approved", "Rollout approved"
    ROLLOUT_STEP_APPLIED = "rollout.step_applied", "Rollout step applied"
    ROLLOUT_STEP_FAILED = "rollout.step_failed", "Rollout step failed"
    ROLLOUT_STOPPED = "rollout.stopped", "Rollout stopped"
    ROLLOUT_RESUMED = "rollout.resumed", "Rollout resumed"
    ROLLOUT_COMPLETED = "rollout.completed", "Rollout completed"
    ROLLOUT_STEP_REBASED = "rollout.step_rebased", "Rollout step rebased"
    ROLLOUT_REJECTED = "rollout.rejected", "Rollout rejected"
    ROLLOUT_WITHDRAWN = "rollout.withdrawn", "Rollout withdrawn"
    FREEZE_DECLARED = "freeze.declared", "Freeze declared"
    FREEZE_LIFTED = "freeze.lifted", "Freeze lifted"


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    UNKNOWN = "unknown", "Unknown"


class AppendOnlyQuerySet(models.QuerySet):
    """A queryset that refuses to change or delete rows; `refused_update`/`refused_delete` say why."""

    refused_update = UPDATE_REFUSED
    refused_delete = DELETE_REFUSED

    def update(self, **kwargs):
        raise AuditImmutableError(self.refused_update)

    update.queryset_only = True

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditImmutableError(self.refused_update)

    def update_or_create(self, defaults=None, create_defaults=None, **kwargs):
        raise AuditImmutableError(self.refused_update)

    def delete(self):
        raise AuditImmutableError(self.refused_delete)

    delete.queryset_only = True

    def _raw_delete(self, using):
        raise AuditImmutableError(self.refused_delete)


class AuditEventQuerySet(AppendOnlyQuerySet):
    def update(self, **kwargs):
        # The one permitted update: SET_NULL on the actor when a user is deleted (the collector
        # goes through the base manager, which is this queryset).
        if kwargs in ({"actor": None}, {"actor_id": None}):
            return models.QuerySet.update(self, **kwargs)
        raise AuditImmutableError(UPDATE_REFUSED)

    update.queryset_only = True


AuditEventManager = models.Manager.from_queryset(AuditEventQuerySet)


class AuditEvent(models.Model):
    seq = models.BigIntegerField(primary_key=True, help_text="Gap-free position in the chain, from 1.")
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, choices=AuditAction.choices)
    sandbox = models.CharField(max_length=255, blank=True)
    spec_id = models.CharField(max_length=255, blank=True)
    change_request_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    outcome = models.CharField(max_length=16, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS)
    before = DocumentField(null=True, blank=True)
    after = DocumentField(null=True, blank=True)
    patch = DocumentField(null=True, blank=True, help_text="RFC 6902 JSON Patch from before to after.")
    http = DocumentField(null=True, blank=True, help_text="HTTP exchange(s), secrets removed.")
    correlation_id = models.CharField(max_length=64, db_index=True)
    detail = models.TextField(blank=True)
    search_text = models.TextField(blank=True, help_text="Lower-cased text the free-text filter matches.")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEventManager()

    class Meta:
        db_table = "audit_event"
        ordering = ["-seq"]
        base_manager_name = "objects"
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["sandbox", "seq"], name="audit_event_sandbox_seq"),
            models.Index(fields=["spec_id", "seq"], name="audit_event_spec_seq"),
            models.Index(fields=["action", "seq"], name="audit_event_action_seq"),
            models.Index(fields=["actor_username", "seq"], name="audit_event_actor_seq"),
            models.Index(fields=["outcome", "seq"], name="audit_event_outcome_seq"),
        ]
        constraints = [
            # Two events claiming the same predecessor would fork the chain.
            models.UniqueConstraint(fields=["prev_hash"], name="audit_event_prev_hash_unique"),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_event_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} ({self.outcome})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutableError(UPDATE_REFUSED)
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutableError(DELETE_REFUSED)

    @property
    def exchanges(self) -> list[dict]:
        """The HTTP exchange(s) as a list, whichever shape was recorded."""
        if not self.http:
            return []
        return self.http if isinstance(self.http, list) else [self.http]


class AuditSearchTerm(models.Model):
    """An id (a UUID) that an event's search text holds: the exact-value index of the free-text filter.

    A trigram index finds a 36-character id slowly (UUIDs share most of their trigrams); this table's
    (term, event) index gives the newest events holding one id in a single ordered index scan.
    Written with the event by `audit_record`; it is derived from ``search_text`` and not part of the
    chain (`audit_search_terms_backfill` rebuilds it).
    """

    term = models.CharField(max_length=36)
    # No foreign key constraint: an index, not a relation to keep (events are never deleted anyway).
    event = models.ForeignKey(
        AuditEvent, on_delete=models.DO_NOTHING, related_name="search_terms", db_index=False, db_constraint=False
    )

    class Meta:
        db_table = "audit_search_term"
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["term", "event"], name="audit_search_term_unique")]

    def __str__(self) -> str:
        return f"{self.term} in #{self.event_id}"


class AuditCheckpointQuerySet(AppendOnlyQuerySet):
    refused_update = CHECKPOINT_UPDATE_REFUSED
    refused_delete = CHECKPOINT_DELETE_REFUSED


class AuditCheckpoint(models.Model):
    """A signed statement of the chain's head: written by `flowadmin.audit.checkpoints`, never changed.

    Its signed fields, digest and signature are described in `flowadmin.audit.signing`; the same
    record is also kept as a file in ``AUDIT_CHECKPOINT_DIR`` and carried by JSON Lines exports.
    On PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE, as on the events (migration 0005).
    """

    number = models.BigIntegerField(primary_key=True, help_text="Gap-free position of the checkpoint, from 1.")
    version = models.PositiveSmallIntegerField()
    last_seq = models.BigIntegerField(unique=True, help_text="The last event it covers.")
    event_count = models.BigIntegerField()
    head_hash = models.CharField(max_length=64, help_text="The hash of event last_seq.")
    at = models.DateTimeField()
    previous_digest = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    signature = models.CharField(max_length=128)

    objects = models.Manager.from_queryset(AuditCheckpointQuerySet)()

    class Meta:
        db_table = "audit_checkpoint"
        ordering = ["-number"]
        base_manager_name = "objects"
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(condition=models.Q(number__gte=1), name="audit_checkpoint_number_positive"),
            models.CheckConstraint(condition=models.Q(last_seq__gte=1), name="audit_checkpoint_last_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"checkpoint #{self.number} through event #{self.last_seq}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutableError(CHECKPOINT_UPDATE_REFUSED)
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutableError(CHECKPOINT_DELETE_REFUSED)


class AuditVerification(models.Model):
    """The outcome of one full verification (`manage.py audit_verify`), shown on the audit page.

    A convenience for the page, not evidence: the evidence is the checkpoints and their files,
    which `audit_verify` and `scripts/verify_audit_export.py` check again at any time.
    """

    at = models.DateTimeField()
    ok = models.BooleanField()
    events_checked = models.BigIntegerField()
    head_seq = models.BigIntegerField()
    checkpoints_checked = models.BigIntegerField()
    verified_through = models.BigIntegerField(help_text="Every event up to this one matched a signed checkpoint.")
    checkpoint_number = models.BigIntegerField(null=True, blank=True)
    checkpoint_at = models.DateTimeField(null=True, blank=True)
    first_problem_seq = models.BigIntegerField(null=True, blank=True)
    problem_count = models.BigIntegerField(default=0)
    problems = models.JSONField(default=list, help_text="The first problems found, as sentences.")
    seconds = models.FloatField()

    class Meta:
        db_table = "audit_verification"
        ordering = ["-id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"verification at {self.at:%Y-%m-%d %H:%M}: {'ok' if self.ok else 'problems'}"
