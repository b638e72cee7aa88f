"""The cache of the remote Flow Service, per sandbox, and the state of background syncs.

Rows are written only by `flowadmin.catalog.services`; pages read them through
`flowadmin.catalog.selectors`. Flow specs that disappear remotely are marked (`vanished_at`), never
deleted: their version history stays.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from flowadmin.db_fields import DocumentField

# A cache older than this is flagged as stale on the pages.
STALE_AFTER = timedelta(hours=1)


class Sandbox(models.Model):
    class Tier(models.TextChoices):
        PRODUCTION = "production", "production"
        DEVELOPMENT = "development", "development"

    name = models.CharField(max_length=255, unique=True, help_text="As the Sandbox API names it (lower case).")
    title = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=32, blank=True, help_text="production or development")
    tier_override = models.CharField(
        max_length=16,
        blank=True,
        choices=Tier.choices,
        help_text="Leave empty to take the tier from the Sandbox API's type; a production tier needs more approvals.",
    )
    state = models.CharField(max_length=32, blank=True, default="active")
    region = models.CharField(max_length=32, blank=True)
    is_default = models.BooleanField(default=False)
    discovered_at = models.DateTimeField(default=timezone.now)
    last_synced_at = models.DateTimeField(null=True, blank=True, help_text="End of the last successful sync.")
    last_sync_attempt_at = models.DateTimeField(null=True, blank=True)
    last_sync_error = models.TextField(blank=True, help_text="Why the last sync failed; empty after a success.")
    # A sync claims the sandbox with a conditional update of these; an expired lease is free again.
    sync_lease_until = models.DateTimeField(null=True, blank=True)
    sync_lease_token = models.CharField(max_length=64, blank=True)
    sync_run = models.ForeignKey(
        "SyncRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Run holding the lease.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="catalog_sandbox_name_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tier(self) -> str:
        """``production`` or ``development``: the override when set, else from the Sandbox API's type.

        A sandbox whose type is anything but ``development`` (``production``, or unknown) is treated
        as production: the side that needs more approvals."""
        if self.tier_override:
            return self.tier_override
        return self.Tier.DEVELOPMENT if self.type == "development" else self.Tier.PRODUCTION

    @property
    def is_production(self) -> bool:
        return self.tier == self.Tier.PRODUCTION

    @property
    def is_stale(self) -> bool:
        return self.last_synced_at is None or timezone.now() - self.last_synced_at > STALE_AFTER

    @property
    def display_title(self) -> str:
        return self.title or self.name


class FlowSpec(models.Model):
    """One cached remote flow spec document of one sandbox."""

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="flow_specs")
    spec_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    provider_id = models.CharField(max_length=64, blank=True)
    version = models.CharField(max_length=64, blank=True)
    frequency = models.CharField(max_length=32, blank=True)
    source_count = models.PositiveIntegerField(default=0)
    document = DocumentField()
    content_hash = models.CharField(max_length=64)
    metadata_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text="Hash of the document's read-only metadata: with the content hash, a sync tells whether the "
        "stored document is the one listed without reading it (empty: unknown, rewritten by the next sync).",
    )
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    fetched_at = models.DateTimeField(default=timezone.now)
    vanished_at = models.DateTimeField(null=True, blank=True, help_text="When a sync no longer found it remotely.")

    class Meta:
        ordering = ["name", "spec_id"]
        constraints = [
            models.UniqueConstraint(fields=["sandbox", "spec_id"], name="catalog_flowspec_unique_per_sandbox"),
            models.CheckConstraint(condition=~Q(spec_id=""), name="catalog_flowspec_id_not_blank"),
            models.CheckConstraint(condition=Q(content_hash__regex=r"^[0-9a-f]{64}$"), name="catalog_flowspec_hash"),
        ]
        indexes = [
            models.Index(fields=["sandbox", "name"], name="catalog_flowspec_name"),
            models.Index(fields=["sandbox", "remote_updated_at"], name="catalog_flowspec_updated"),
            models.Index(fields=["sandbox", "vanished_at"], name="catalog_flowspec_vanished"),
            models.Index(fields=["spec_id"], name="catalog_flowspec_spec_id"),  # names by id, any sandbox
        ]

    def __str__(self) -> str:
        return f"{self.name or self.spec_id} ({self.sandbox_id})"

    @property
    def confirmed_at(self):
        """When the remote last showed this document: its own fetch, or the sandbox's last sync, which
        found every flow spec that has not vanished as it is cached (and does not write them again)."""
        synced = self.sandbox.last_synced_at if self.vanished_at is None else None
        return max(moment for moment in (self.fetched_at, synced) if moment is not None)


class FlowSpecVersion(models.Model):
    """A distinct remote document of a flow spec, recorded whenever its content hash changed."""

    class Origin(models.TextChoices):
        SYNC = "sync", "seen by a sync"
        FLOWADMIN = "flowadmin", "applied by flowadmin"

    flow_spec = models.ForeignKey(FlowSpec, on_delete=models.CASCADE, related_name="versions")
    document = DocumentField()
    content_hash = models.CharField(max_length=64)
    seen_at = models.DateTimeField(default=timezone.now)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.SYNC)
    change_request_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-seen_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(origin__in=["sync", "flowadmin"]), name="catalog_version_origin"),
            models.CheckConstraint(
                condition=Q(origin="flowadmin") | Q(change_request_id__isnull=True),
                name="catalog_version_change_request_only_from_flowadmin",
            ),
        ]
        indexes = [
            models.Index(fields=["flow_spec", "seen_at"], name="catalog_version_seen"),
            models.Index(fields=["flow_spec", "content_hash"], name="catalog_version_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.flow_spec_id} {self.content_hash[:12]} ({self.origin})"


class FlowSpecSource(models.Model):
    """A connection spec id a cached flow spec lists, kept in step with its document (an index)."""

    class Role(models.TextChoices):
        SOURCE = "source", "source"
        TARGET = "target", "target"

    flow_spec = models.ForeignKey(FlowSpec, on_delete=models.CASCADE, related_name="attachments")
    connection_spec_id = models.CharField(max_length=64)
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.SOURCE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["flow_spec", "role", "connection_spec_id"], name="catalog_flowspecsource_unique"
            ),
            models.CheckConstraint(condition=Q(role__in=["source", "target"]), name="catalog_flowspecsource_role"),
        ]
        indexes = [models.Index(fields=["connection_spec_id"], name="catalog_flowspecsource_id")]

    def __str__(self) -> str:
        return f"{self.flow_spec_id} {self.role} {self.connection_spec_id}"


class ConnectionSpec(models.Model):
    """A cached remote connection spec: enough to show an id with its name, and to suggest where it fits."""

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="connection_specs")
    spec_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    provider_id = models.CharField(max_length=64, blank=True)
    version = models.CharField(max_length=64, blank=True)
    category = models.CharField(max_length=64, blank=True, help_text="attributes.category (Streaming, CRM, ...).")
    frequency = models.CharField(max_length=32, blank=True, help_text="attributes.frequency: streaming or batch.")
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "spec_id"]
        constraints = [
            models.UniqueConstraint(fields=["sandbox", "spec_id"], name="catalog_connectionspec_unique_per_sandbox"),
        ]
        indexes = [models.Index(fields=["spec_id"], name="catalog_connspec_spec_id")]  # names by id, any sandbox

    def __str__(self) -> str:
        return f"{self.name or self.spec_id} ({self.sandbox_id})"


class SyncRun(models.Model):
    """One sync, asked for ("sync now", the command) or scheduled: all sandboxes (scope "") or one; its
    per-sandbox rows are the progress. A worker does it (`flowadmin.catalog.tasks.sync_run`)."""

    scope = models.CharField(max_length=255, blank=True, help_text="Sandbox name, or empty for all sandboxes.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    requested_by_username = models.CharField(max_length=150, blank=True)
    token = models.CharField(max_length=64, unique=True, help_text="Lease token of the sandboxes it claims.")
    scheduled = models.BooleanField(default=False, help_text="Started by the schedule, not by a person or a command.")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker began it (empty: queued).")
    heartbeat_at = models.DateTimeField(default=timezone.now, help_text="Last sign of life of the worker.")
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why the run as a whole failed (e.g. sandbox discovery).")
    parts = models.PositiveSmallIntegerField(
        default=0, help_text="Tasks its sandboxes were split into (0: not split, done by the run's own task)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["finished_at", "created_at"], name="catalog_syncrun_open")]

    def __str__(self) -> str:
        return f"sync run {self.pk} ({self.scope or 'all sandboxes'})"

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None

    @property
    def is_abandoned(self) -> bool:
        """Unfinished, but its worker gave no sign of life for longer than a lease: it died."""
        lease = timedelta(seconds=settings.FLOWADMIN_SYNC_LEASE_SECONDS)
        return self.finished_at is None and timezone.now() - self.heartbeat_at > lease

    @property
    def is_active(self) -> bool:
        return not self.is_finished and not self.is_abandoned


class SyncRunSandbox(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        SKIPPED = "skipped", "skipped"

    DONE_STATES = (State.SUCCEEDED, State.FAILED, State.SKIPPED)

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="items")
    sandbox_name = models.CharField(max_length=255)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    error = models.TextField(blank=True)
    new = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    vanished = models.PositiveIntegerField(default=0)
    has_changes = models.BooleanField(default=False, help_text="Its sync changed the cache (and audited it).")
    note = models.CharField(
        max_length=255, blank=True, help_text="What it is doing while running (retrying after HTTP 503, ...)."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sandbox_name"]
        constraints = [
            models.UniqueConstraint(fields=["run", "sandbox_name"], name="catalog_syncrunsandbox_unique"),
            models.CheckConstraint(
                condition=Q(state__in=["queued", "running", "succeeded", "failed", "skipped"]),
                name="catalog_syncrunsandbox_state",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sandbox_name}: {self.state}"

    @property
    def is_done(self) -> bool:
        return self.state in self.DONE_STATES

    @property
    def counts(self) -> str:
        """Its counts that are not zero ("2 new, 12 unchanged"): short enough for a phone's line."""
        counts = {"new": self.new, "changed": self.changed, "unchanged": self.unchanged, "vanished": self.vanished}
        return ", ".join(f"{number} {word}" for word, number in counts.items() if number) or "no flow specs"
