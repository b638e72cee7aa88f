"""Sync leases: a sandbox is synced by one worker at a time.

A sync claims its sandbox with a conditional update of the lease; an expired lease (a crashed
process) is free again. A sync gives its lease back in the same write that records its outcome.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from flowadmin.catalog.models import Sandbox, SyncRun

# The columns of a lease given back.
RELEASED = {"sync_lease_until": None, "sync_lease_token": "", "sync_run": None}
CLAIM_BATCH = 500  # names per statement (SQLite's limit of bound parameters)


def _lease_seconds() -> int:
    return settings.FLOWADMIN_SYNC_LEASE_SECONDS


def _free(token: str) -> Q:
    """Sandboxes ``token`` may claim: free, expired, or already its own."""
    return Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=timezone.now()) | Q(sync_lease_token=token)


def sandbox_claim(*, sandbox_name: str, token: str, run: SyncRun | None = None) -> bool:
    """Claim ``sandbox_name`` for the holder of ``token``: True when free, expired or already its own."""
    until = timezone.now() + timedelta(seconds=_lease_seconds())
    claimed = Sandbox.objects.filter(_free(token), name=sandbox_name).update(
        sync_lease_until=until, sync_lease_token=token, sync_run=run
    )
    return claimed == 1


def sandboxes_claim(*, names: Iterable[str], token: str, run: SyncRun | None = None) -> dict[str, int]:
    """Claim each of ``names`` that is free, expired or already held by ``token``; {name: sandbox id} of those."""
    names = list(names)
    until = timezone.now() + timedelta(seconds=_lease_seconds())
    claimed: dict[str, int] = {}
    for start in range(0, len(names), CLAIM_BATCH):
        batch = names[start : start + CLAIM_BATCH]
        if Sandbox.objects.filter(_free(token), name__in=batch).update(
            sync_lease_until=until, sync_lease_token=token, sync_run=run
        ):
            claimed.update(Sandbox.objects.filter(name__in=batch, sync_lease_token=token).values_list("name", "pk"))
    return claimed


def sandbox_release(*, sandbox_name: str, token: str) -> None:
    """Give the claim back, if ``token`` still holds it (an expired one may have passed on)."""
    Sandbox.objects.filter(name=sandbox_name, sync_lease_token=token).update(**RELEASED)
