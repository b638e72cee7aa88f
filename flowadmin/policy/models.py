"""Change freezes: windows during which nothing is applied to some sandboxes but by an emergency approval.

Rows are written only by `flowadmin.policy.freezes`; the approval rules read them through
`flowadmin.policy.rules`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Freeze(models.Model):
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    tiers = models.JSONField(default=list, blank=True, help_text="Tiers it covers: production, development.")
    sandboxes = models.JSONField(default=list, blank=True, help_text="Sandbox names it covers (besides its tiers).")
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_by_username = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True, help_text="When it was ended before its end.")
    lifted_by_username = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="policy_freeze_ends_after_start"),
            models.CheckConstraint(condition=~Q(reason=""), name="policy_freeze_reason_not_blank"),
        ]
        indexes = [models.Index(fields=["ends_at", "starts_at"], name="policy_freeze_window")]

    def __str__(self) -> str:
        return f"freeze #{self.pk}"

    @property
    def effective_end(self):
        return min(self.ends_at, self.lifted_at) if self.lifted_at else self.ends_at

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return self.starts_at <= at < self.effective_end

    @property
    def is_upcoming(self) -> bool:
        return self.lifted_at is None and timezone.now() < self.starts_at

    def covers(self, *, sandbox: str, tier: str) -> bool:
        return tier in (self.tiers or []) or sandbox in (self.sandboxes or [])

    @property
    def scope(self) -> str:
        """What it covers, in words: "production sandboxes, sandbox dev"."""
        parts = [f"{tier} sandboxes" for tier in self.tiers or []]
        parts += [f"sandbox {name}" for name in self.sandboxes or []]
        return ", ".join(parts) or "nothing"
