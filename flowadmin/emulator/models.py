"""State of the emulated Adobe services, kept in the database.

Everything lives here rather than in process memory so the emulator survives restarts and answers
the same way under several server processes. Documents are stored as JSON text, exactly as they
were written (key order included), because the emulator must hand back what it was given.
"""

import json
import uuid

from django.db import models
from django.utils import timezone

from flowadmin.db_fields import DocumentTextField


class RemoteSandbox(models.Model):
    class Type(models.TextChoices):
        PRODUCTION = "production"
        DEVELOPMENT = "development"

    class State(models.TextChoices):
        CREATING = "creating"
        ACTIVE = "active"
        DELETING = "deleting"
        RESETTING = "resetting"
        DELETED = "deleted"
        FAILED = "failed"

    sandbox_id = models.UUIDField(unique=True, default=uuid.uuid4)
    name = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    type = models.CharField(max_length=16, choices=Type)
    state = models.CharField(max_length=16, choices=State, default=State.ACTIVE)
    region = models.CharField(max_length=16, default="VA7")
    is_default = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE


class _DocumentText:
    """`document`: the stored JSON text as a dict. Setting it also fills `name` (and `_columns`' own)."""

    document_json: str
    name: str

    @property
    def document(self) -> dict:
        return json.loads(self.document_json)

    @document.setter
    def document(self, value: dict) -> None:
        self.document_json = json.dumps(value, ensure_ascii=False)
        self.name = str(value.get("name", ""))[:255]
        self._columns(value)

    def _columns(self, value: dict) -> None:
        """Other columns a subclass copies from the document."""


class _Document(_DocumentText, models.Model):
    """A JSON document per sandbox, addressed by its Adobe id."""

    sandbox = models.ForeignKey(RemoteSandbox, on_delete=models.CASCADE, related_name="+")
    spec_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    provider_id = models.CharField(max_length=64, blank=True)
    document_json = DocumentTextField()

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.sandbox_id}/{self.name} ({self.spec_id})"

    def _columns(self, value: dict) -> None:
        self.provider_id = str(value.get("providerId", ""))[:64]


class FlowSpecDocument(_Document):
    updated_at_ms = models.BigIntegerField(default=0)

    class Meta(_Document.Meta):
        constraints = [models.UniqueConstraint(fields=["sandbox", "spec_id"], name="emulator_flowspec_unique_id")]


class ConnectionSpecDocument(_Document):
    class Meta(_Document.Meta):
        constraints = [models.UniqueConstraint(fields=["sandbox", "spec_id"], name="emulator_connspec_unique_id")]


class _Instance(_DocumentText, models.Model):
    """A resource a sandbox holds many of (dataflows, source connections), addressed by its Adobe id."""

    sandbox = models.ForeignKey(RemoteSandbox, on_delete=models.CASCADE, related_name="+")
    resource_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    document_json = DocumentTextField()

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.sandbox_id}/{self.name} ({self.resource_id})"


class SourceConnectionDocument(_Instance):
    class Meta(_Instance.Meta):
        constraints = [models.UniqueConstraint(fields=["sandbox", "resource_id"], name="emulator_sourceconn_unique_id")]


class FlowDocument(_Instance):
    """A dataflow."""

    class Meta(_Instance.Meta):
        constraints = [models.UniqueConstraint(fields=["sandbox", "resource_id"], name="emulator_flow_unique_id")]


class IssuedToken(models.Model):
    """An IMS access token handed out. Tokens are signed, so they verify on their own; a row can revoke one."""

    jti = models.UUIDField(unique=True)
    client_id = models.CharField(max_length=255)
    scope = models.TextField(blank=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"token {self.jti} for {self.client_id}"


class FaultRule(models.Model):
    class Action(models.TextChoices):
        RESPOND = "respond"
        DELAY = "delay"
        DROP = "drop"
        MALFORMED = "malformed"
        APPLY_THEN_DROP = "apply_then_drop"
        # A list answer (flowSpecs, connectionSpecs) whose _links.next.href is the rule's `href`: a remote
        # that points its next page elsewhere (the client must not follow it to another host).
        NEXT_LINK = "next_link"

    class Shape(models.TextChoices):
        FLOW = "flow"
        GATEWAY = "gateway"
        HTML = "html"
        IMS = "ims"

    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, default="*")
    sandbox = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=16, choices=Action)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    shape = models.CharField(max_length=8, choices=Shape, blank=True)
    retry_after = models.PositiveIntegerField(null=True, blank=True)
    delay_ms = models.PositiveIntegerField(default=0)
    times = models.PositiveIntegerField(null=True, blank=True, help_text="remaining uses; empty = unlimited")
    href = models.CharField(max_length=2000, blank=True, help_text="next_link: the _links.next.href answered")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__isnull=True) | models.Q(status__gte=100, status__lte=599),
                name="emulator_fault_status_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.method or '*'} {self.path}"

    def as_api(self) -> dict:
        return {
            "id": self.pk,
            "method": self.method or None,
            "path": self.path,
            "sandbox": self.sandbox or None,
            "action": self.action,
            "status": self.status,
            "shape": self.shape or None,
            "retry_after": self.retry_after,
            "delay_ms": self.delay_ms,
            "times": self.times,
            "href": self.href or None,
        }


class RequestLogEntry(models.Model):
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    sandbox = models.CharField(max_length=64, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="empty when no answer was sent")
    at = models.DateTimeField(default=timezone.now)
    request_id = models.CharField(max_length=64, blank=True)
    fault = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"

    def as_api(self) -> dict:
        return {
            "method": self.method,
            "path": self.path,
            "sandbox": self.sandbox or None,
            "status": self.status,
            "at": self.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "request_id": self.request_id,
            "fault": self.fault or None,
        }
