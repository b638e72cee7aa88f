"""Declaring and ending change freezes (the writes of `Freeze`); every one is audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from flowadmin.accounts.roles import MANAGE_FREEZES
from flowadmin.audit.services import audit_record
from flowadmin.catalog.models import Sandbox
from flowadmin.policy.models import Freeze

NOT_MANAGER = "Declaring and ending change freezes needs the Freeze managers role."
REASON_REQUIRED = "Say why changes are frozen: everyone who is refused reads it."
ENDS_BEFORE_START = "A freeze must end after it starts."
ENDS_IN_PAST = "This freeze would already be over: give an end in the future."
NOTHING_COVERED = "Choose the tiers or the sandboxes the freeze covers."
UNKNOWN_SANDBOX = "Sandbox “{name}” is not known to the cache."
ALREADY_OVER = "Freeze #{pk} is over already."


class FreezeError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FreezeForbidden(FreezeError):
    """The actor may not manage freezes: answered with 403."""


def _check_manager(actor) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm(MANAGE_FREEZES):
        raise FreezeForbidden(NOT_MANAGER)


def freeze_declare(
    *, actor, starts_at: datetime, ends_at: datetime, tiers: Sequence[str], sandboxes: Sequence[str], reason: str
) -> Freeze:
    """A freeze window over ``tiers`` and ``sandboxes``: applying to them is refused while it holds,
    but for emergency approvals (see `flowadmin.policy.rules`)."""
    _check_manager(actor)
    reason = (reason or "").strip()
    if not reason:
        raise FreezeError(REASON_REQUIRED)
    if ends_at <= starts_at:
        raise FreezeError(ENDS_BEFORE_START)
    if ends_at <= timezone.now():
        raise FreezeError(ENDS_IN_PAST)
    tiers = sorted({tier for tier in tiers if tier in Sandbox.Tier.values})
    sandboxes = sorted({name.strip().lower() for name in sandboxes if name and name.strip()})
    if not tiers and not sandboxes:
        raise FreezeError(NOTHING_COVERED)
    known = set(Sandbox.objects.filter(name__in=sandboxes).values_list("name", flat=True))
    for name in sandboxes:
        if name not in known:
            raise FreezeError(UNKNOWN_SANDBOX.format(name=name))
    with transaction.atomic():
        freeze = Freeze.objects.create(
            starts_at=starts_at,
            ends_at=ends_at,
            tiers=tiers,
            sandboxes=sandboxes,
            reason=reason,
            created_by=actor,
            created_by_username=actor.get_username(),
        )
        audit_record(
            action="freeze.declared",
            actor=actor,
            after={
                "freeze": freeze.pk,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "tiers": tiers,
                "sandboxes": sandboxes,
                "reason": reason,
            },
            detail=f"Freeze #{freeze.pk} declared over {freeze.scope}, {_window(freeze)}: {reason}",
        )
    return freeze


def freeze_lift(*, actor, freeze: Freeze) -> Freeze:
    """End a freeze now (before its end)."""
    _check_manager(actor)
    now = timezone.now()
    with transaction.atomic():
        lifted = Freeze.objects.filter(pk=freeze.pk, lifted_at__isnull=True, ends_at__gt=now).update(
            lifted_at=now, lifted_by_username=actor.get_username()
        )
        if not lifted:
            raise FreezeError(ALREADY_OVER.format(pk=freeze.pk))
        audit_record(action="freeze.lifted", actor=actor, detail=f"Freeze #{freeze.pk} ended early ({freeze.scope}).")
    return Freeze.objects.get(pk=freeze.pk)


def _window(freeze: Freeze) -> str:
    start = timezone.localtime(freeze.starts_at).strftime("%Y-%m-%d %H:%M")
    end = timezone.localtime(freeze.ends_at).strftime("%Y-%m-%d %H:%M %Z")
    return f"{start} to {end}"
