"""JSON log lines (``LOG_FORMAT=json``) and the correlation id on every line logged during a request.

A formatter of our own, not python-json-logger: the line has a fixed set of fields (time, level,
logger, message, correlation id, exception), which the standard library's ``json`` writes in a few
lines; there is nothing to configure that a dependency would add. Whatever the format, bearer and
basic credentials that slipped into a message are masked, as in the audit log (the Flow Service
client already keeps its secrets out of what it logs).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from flowadmin.audit.correlation import correlation_id_current
from flowadmin.audit.redaction import BEARER, REDACTED


class CorrelationIdFilter(logging.Filter):
    """Puts the current correlation id (request, command or ``with correlation():``) on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a 4xx/5xx answer ("Not Found: /x") after the middleware that holds the id has
        # returned, with the request attached: its id is on the request.
        request = getattr(record, "request", None)
        record.correlation_id = correlation_id_current() or getattr(request, "correlation_id", "") or ""
        return True


def masked(text: str) -> str:
    return BEARER.sub(REDACTED, text)


class PlainFormatter(logging.Formatter):
    """The default text lines (``time LEVEL logger message``), credentials masked."""

    def __init__(self, fmt: str = "%(asctime)s %(levelname)s %(name)s %(message)s", **kwargs):
        super().__init__(fmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return masked(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    ``correlation_id`` (empty outside a request or command) and ``exception`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": masked(record.getMessage()),
            "correlation_id": getattr(record, "correlation_id", None) or correlation_id_current() or "",
        }
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = masked(record.exc_text)
        if record.stack_info:
            line["stack"] = masked(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)
