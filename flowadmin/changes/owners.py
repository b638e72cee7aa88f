"""What a change request may be a part of, as the apps that own such parts declare it.

A rollout makes one change request per sandbox and decides them itself; the change-request rules
(`flowadmin.changes.policy`) must know whose step a request is without importing that app. The app
registers a lookup in its ``AppConfig.ready()``:

    owners.register(step_owner)       # step_owner(change_request) -> the rollout's pk, or None
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_lookups: list[Callable[[Any], int | None]] = []


def register(lookup: Callable[[Any], int | None]) -> None:
    if lookup not in _lookups:
        _lookups.append(lookup)


def rollout_of(change_request) -> int | None:
    """The pk of the rollout whose step ``change_request`` is, or None."""
    for lookup in _lookups:
        owner = lookup(change_request)
        if owner is not None:
            return owner
    return None
