"""One correlation id per user action, so every audit event it caused can be found together.

A request gets one from `CorrelationIdMiddleware`; management commands and background threads open
their own with `with correlation():` (a new thread does not inherit the request's context).

The id is minted here, server-side. A client's own `X-Request-ID` is never the correlation id (one
user could otherwise make their actions look correlated with another's): it is kept apart as the
*client request id* (`client_request_id_current`), which the audit trail notes in an event's detail.
Only a trusted proxy's `X-Request-ID` becomes the correlation id (`flowadmin.audit.middleware`).
"""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

_current: ContextVar[str | None] = ContextVar("flowadmin_audit_correlation_id", default=None)
_client_request_id: ContextVar[str | None] = ContextVar("flowadmin_audit_client_request_id", default=None)


def correlation_id_new() -> str:
    return str(uuid.uuid4())


def correlation_id_current() -> str | None:
    """The correlation id of the current request, command or thread, if one is open."""
    return _current.get()


def correlation_id_accepted(candidate: str | None) -> str | None:
    """`candidate` when it is a sane short token (as an incoming X-Request-ID may be), else None."""
    if candidate and SANE_ID.fullmatch(candidate):
        return candidate
    return None


@contextmanager
def correlation(cid: str | None = None) -> Iterator[str]:
    """Make `cid` (or a new id) the current correlation id inside the block."""
    value = correlation_id_accepted(cid) or correlation_id_new()
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)


def client_request_id_current() -> str | None:
    """The sane `X-Request-ID` the client sent with the current request (not trusted), if any."""
    return _client_request_id.get()


@contextmanager
def client_request_id(value: str | None) -> Iterator[str | None]:
    """Make ``value`` (a sane id, or None) the current client request id inside the block."""
    token = _client_request_id.set(correlation_id_accepted(value))
    try:
        yield _client_request_id.get()
    finally:
        _client_request_id.reset(token)
