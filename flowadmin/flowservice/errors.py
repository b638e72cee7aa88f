"""Errors of the remote API, parsed from every shape Adobe answers with.

Every failure of a call becomes one `FlowServiceError`. Its `str()` is a sentence a person can read
(title, detail, request id); its attributes are what code branches on.

Shapes understood:

* Flow Service: ``{"type": ".../FLOW-1101-404", "title", "status", "report": {"detailed-message",
  "request-id"}, "errorMessage"}``; also ``{"code", "message"}`` and lists of such errors (bare or
  under ``"errors"``);
* the API gateway in front of it: ``{"error_code": "401013", "message": "..."}``;
* IMS: ``{"error": "invalid_client", "error_description": "..."}``;
* anything else (an HTML error page from a proxy, plain text): the title is the HTTP reason and the
  detail a short excerpt of the text with the tags stripped.
"""

from __future__ import annotations

import html
import re
from http import HTTPStatus
from typing import Any

from flowadmin.flowservice.exchanges import Exchange

# Titles and codes of the errors flowadmin itself detects (the remote API did not describe them).
TITLE_OUTCOME_UNKNOWN = "Outcome unknown"
TITLE_MALFORMED = "Malformed answer"
TITLE_TIMEOUT = "Timed out"
TITLE_CONNECTION = "Connection failed"
TITLE_AUTHENTICATION = "Authentication failed"
TITLE_NOT_FOUND = "Resource not found"
TITLE_PAGINATION_LOOP = "Pagination loop"
TITLE_REDIRECT = "Unexpected redirect"
TITLE_REQUEST = "Request failed"
TITLE_FOREIGN_LINK = "Next page on another host"

CODE_OUTCOME_UNKNOWN = "outcome-unknown"
CODE_MALFORMED = "malformed-answer"
CODE_TIMEOUT = "timeout"
CODE_CONNECTION = "connection-error"
CODE_NOT_FOUND = "not-found"
CODE_PAGINATION_LOOP = "pagination-loop"
CODE_REDIRECT = "redirect"
CODE_REQUEST = "request-error"
CODE_FOREIGN_LINK = "foreign-next-link"

# Statuses after which the same call may succeed later.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

EXCERPT_LENGTH = 300


class FlowServiceError(Exception):
    """A call to the remote API failed.

    ``status`` is the HTTP status (``None`` when no answer came back), ``code`` Adobe's error code
    (``"FLOW-1101-404"``, ``"401013"``, ``"invalid_client"``) or one of this module's ``CODE_*``,
    ``request_id`` the id to quote to Adobe support, ``exchange`` the last HTTP exchange made and
    ``retryable`` whether making the same call later may help.
    """

    def __init__(
        self,
        *,
        status: int | None,
        title: str,
        detail: str = "",
        code: str = "",
        request_id: str = "",
        exchange: Exchange | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.exchange = exchange
        self.retryable = is_retryable_status(status) if retryable is None else retryable
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = self.title.rstrip(".")
        if self.detail and self.detail != self.title:
            text = f"{text}: {self.detail}"
        facts = []
        if self.status is not None:
            facts.append(f"HTTP {self.status}")
        if self.code:
            facts.append(f"code {self.code}")
        if self.request_id:
            facts.append(f"request id {self.request_id}")
        if facts:
            text = f"{text} ({', '.join(facts)})"
        return text

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, title={self.title!r}, "
            f"detail={self.detail!r}, request_id={self.request_id!r}, retryable={self.retryable!r})"
        )

    def __reduce__(self):
        return _rebuild, (type(self), self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        """The error's facts as plain JSON-ready data (what an audit record or a template needs)."""
        return {
            "status": self.status,
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "request_id": self.request_id,
            "retryable": self.retryable,
        }


class OutcomeUnknownError(FlowServiceError):
    """A write may have reached the server but no usable answer came back.

    It may or may not have been applied: read the document back to settle it. Repeating the write
    without reading first is unsafe, hence ``retryable`` is False.
    """

    def __init__(self, *, status: int | None = None, detail: str, request_id: str = "", exchange=None) -> None:
        super().__init__(
            status=status,
            title=TITLE_OUTCOME_UNKNOWN,
            detail=detail,
            code=CODE_OUTCOME_UNKNOWN,
            request_id=request_id,
            exchange=exchange,
            retryable=False,
        )


def _rebuild(cls, facts):
    if cls is OutcomeUnknownError:
        return cls(status=facts["status"], detail=facts["detail"], request_id=facts["request_id"])
    return cls(**facts)


def is_retryable_status(status: int | None) -> bool:
    """No answer at all, throttling and passing server trouble may go away; anything else won't."""
    return status is None or status in RETRYABLE_STATUSES


def reason_phrase(status: int, reason: str | None = None) -> str:
    if reason:
        return reason
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def text_excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """Readable text of an answer body: tags and scripts stripped, whitespace collapsed, capped."""
    text = _SCRIPT_OR_STYLE.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _SPACE.sub(" ", html.unescape(text)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text


def _string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return str(value)


def error_fields(status: int, reason: str | None, payload: Any, text: str) -> dict[str, str]:
    """``{"code", "title", "detail", "request_id"}`` read from an error answer of any known shape.

    ``payload`` is the parsed JSON body (``None`` when the body is not JSON) and ``text`` the body.
    """
    fallback_title = reason_phrase(status, reason)
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list) and payload["errors"]:
        payload = payload["errors"]
    if isinstance(payload, list):
        parts = [_fields_of(item, fallback_title) for item in payload if isinstance(item, dict)]
        parts = [part for part in parts if part is not None]
        if parts:
            first = dict(parts[0])
            others = [_one_line(part) for part in parts[1:]]
            if others:
                more = "; ".join(others)
                first["detail"] = f"{first['detail']}; {more}" if first["detail"] else more
            return first
    elif isinstance(payload, dict):
        fields = _fields_of(payload, fallback_title)
        if fields is not None:
            return fields
    return {"code": "", "title": fallback_title, "detail": text_excerpt(text or ""), "request_id": ""}


def _one_line(fields: dict[str, str]) -> str:
    text = fields["title"]
    if fields["detail"]:
        text = f"{text}: {fields['detail']}"
    if fields["code"]:
        text = f"{text} ({fields['code']})"
    return text


def _fields_of(body: dict, fallback_title: str) -> dict[str, str] | None:
    report = body.get("report") if isinstance(body.get("report"), dict) else {}
    request_id = _string(report.get("request-id") or body.get("request-id") or body.get("requestId"))
    if body.get("type") or body.get("title") or report:
        # Flow Service (RFC 7807-like).
        code = _string(body.get("type")).rstrip("/").rsplit("/", 1)[-1]
        title = _string(body.get("title")) or fallback_title
        detail = _string(
            report.get("detailed-message") or body.get("detail") or body.get("errorMessage") or body.get("message")
        )
        if detail == title:
            detail = ""
        return {"code": code, "title": title, "detail": detail, "request_id": request_id}
    if "error_code" in body or "code" in body:
        # Gateway ({"error_code", "message"}) and the older Flow Service ({"code", "message"}).
        code = _string(body.get("error_code", body.get("code")))
        message = _string(body.get("message") or body.get("errorMessage") or body.get("detail"))
        return {"code": code, "title": message or fallback_title, "detail": "", "request_id": request_id}
    if "error" in body and isinstance(body["error"], str):
        # IMS.
        description = _string(body.get("error_description")) or body["error"]
        return {"code": body["error"], "title": TITLE_AUTHENTICATION, "detail": description, "request_id": request_id}
    if body.get("message") or body.get("errorMessage"):
        message = _string(body.get("message") or body.get("errorMessage"))
        return {"code": "", "title": message, "detail": "", "request_id": request_id}
    return None
