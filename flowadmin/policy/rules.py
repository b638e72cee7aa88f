"""The rule book's shared facts: how many approvals a sandbox's changes need, and which freezes hold.

Every path that applies a change (a change request, a rollout step, a revert, a retry) asks
`approvals_required` for its sandbox, so no path needs fewer approvals than another:

* the tier's number: ``FLOWADMIN_APPROVALS_PRODUCTION`` (2) or ``FLOWADMIN_APPROVALS_DEVELOPMENT`` (1);
  a sandbox's tier is the Sandbox API's type unless overridden in the admin (`Sandbox.tier`); a
  sandbox the cache does not know counts as production;
* one more while a freeze covers the sandbox (and only emergency approvals, with a reason, are
  accepted then);
* ``extra``: what the caller adds for reasons of its own (a removal that enabled dataflows depend on).

`Decision` is what the `can_*` functions of each subject's policy return to views and templates:
whether the action is allowed and, when not, the sentence that says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from flowadmin.catalog.models import Sandbox
from flowadmin.policy.models import Freeze

FROZEN = (
    "Sandbox “{sandbox}” is frozen until {until} (freeze #{pk}: {reason}). Nothing is applied there during the "
    "freeze, except by an emergency approval: tick “Emergency” and give the reason; it needs one approver more "
    "than usual."
)


@dataclass(frozen=True)
class Decision:
    """Whether an action is allowed, and why not (one sentence for people) when it is not."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def refused(reason: str) -> Decision:
    return Decision(False, reason)


def tier_of(name: str, *, sandbox: Sandbox | None = None) -> str:
    """``production`` or ``development`` (see `Sandbox.tier`); unknown sandboxes count as production."""
    if sandbox is None:
        sandbox = Sandbox.objects.filter(name=name).only("type", "tier_override").first()
    return sandbox.tier if sandbox is not None else Sandbox.Tier.PRODUCTION


def tier_approvals(tier: str) -> int:
    if tier == Sandbox.Tier.DEVELOPMENT:
        return settings.FLOWADMIN_APPROVALS_DEVELOPMENT
    return settings.FLOWADMIN_APPROVALS_PRODUCTION


def freeze_for(name: str, *, tier: str | None = None, at=None) -> Freeze | None:
    """The freeze covering sandbox ``name`` now (the one that ends last), or None."""
    at = at or timezone.now()
    tier = tier or tier_of(name)
    active = Freeze.objects.filter(starts_at__lte=at, ends_at__gt=at, lifted_at__isnull=True).order_by("-ends_at")
    return next((freeze for freeze in active if freeze.covers(sandbox=name, tier=tier)), None)


def frozen_message(freeze: Freeze, *, sandbox: str) -> str:
    until = timezone.localtime(freeze.ends_at).strftime("%Y-%m-%d %H:%M %Z")
    return FROZEN.format(sandbox=sandbox, until=until, pk=freeze.pk, reason=freeze.reason)


@dataclass(frozen=True)
class Requirement:
    """The approvals a change to one sandbox needs now, and why that many."""

    sandbox: str
    tier: str
    count: int
    freeze: Freeze | None = None
    extra: int = 0
    extra_reason: str = ""

    @property
    def emergency_only(self) -> bool:
        """A freeze holds: only emergency approvals (with a reason) are accepted."""
        return self.freeze is not None

    @property
    def why(self) -> str:
        parts = [f"{tier_approvals(self.tier)} for a {self.tier} sandbox"]
        if self.freeze is not None:
            parts.append(f"1 more during freeze #{self.freeze.pk}")
        if self.extra:
            parts.append(f"{self.extra} more {self.extra_reason}".rstrip())
        return ", ".join(parts)


def approvals_required(
    name: str, *, extra: int = 0, extra_reason: str = "", sandbox: Sandbox | None = None
) -> Requirement:
    """What a change to sandbox ``name`` needs now (see the module docstring)."""
    tier = tier_of(name, sandbox=sandbox)
    freeze = freeze_for(name, tier=tier)
    count = tier_approvals(tier) + (1 if freeze is not None else 0) + extra
    return Requirement(sandbox=name, tier=tier, count=count, freeze=freeze, extra=extra, extra_reason=extra_reason)


def tiers_of(names: Iterable[str]) -> dict[str, str]:
    """The tier of each sandbox name, in one query."""
    names = list(names)
    found = {sandbox.name: sandbox.tier for sandbox in Sandbox.objects.filter(name__in=names)}
    return {name: found.get(name, Sandbox.Tier.PRODUCTION) for name in names}
