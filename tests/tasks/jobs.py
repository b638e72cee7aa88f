"""Task functions for the tests of flowadmin.tasks: a worker (or the in-process sync mode) imports them by path."""

from __future__ import annotations

from flowadmin.tasks.queue import retrying

CALLS: list = []


def record(*args, **kwargs) -> str:
    CALLS.append((args, kwargs))
    return "recorded"


def explode() -> None:
    raise RuntimeError("boom")


@retrying(on=(ConnectionError,), attempts=3, backoff=30)
def flaky(label: str, failures: int) -> str:
    """Fails with ConnectionError the first ``failures`` times it is called with ``label``."""
    CALLS.append(label)
    if CALLS.count(label) <= failures:
        raise ConnectionError(f"{label} is down")
    return f"{label} done"
