"""Sync leases: a sandbox is synced by one worker at a time.

A sync claims its sandbox with a conditional update of the lease; an expired lease (a crashed
process) is free again.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from flowadmin.catalog.models import Sandbox, SyncRun


def _lease_seconds() -> int:
    return settings.FLOWADMIN_SYNC_LEASE_SECONDS


def sandbox_claim(*, sandbox_name: str, token: str, run: SyncRun | None = None) -> bool:
    """Claim ``sandbox_name`` for the holder of ``token``: True when free, expired or already its own."""
    now = timezone.now()
    free = Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now) | Q(sync_lease_token=token)
    claimed = Sandbox.objects.filter(free, name=sandbox_name).update(
        sync_lease_until=now + timedelta(seconds=_lease_seconds()), sync_lease_token=token, sync_run=run
    )
    return claimed == 1


def sandbox_release(*, sandbox_name: str, token: str) -> None:
    """Give the claim back, if ``token`` still holds it (an expired one may have passed on)."""
    Sandbox.objects.filter(name=sandbox_name, sync_lease_token=token).update(
        sync_lease_until=None, sync_lease_token="", sync_run=None
    )
