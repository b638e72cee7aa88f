"""Flow Service list queries: `property` filters and continuation-token paging (pure functions).

``property=name==X`` keeps documents whose field equals X; ``id==a,b`` means a OR b; repeated
`property` parameters are ANDed; an empty ``property=`` is no filter. Dotted names reach into
objects (``attributes.frequency==streaming``) and array fields match when any element does
(``sourceConnectionSpecIds==<id>``). ``!=``, ``>=``, ``<=``, ``>`` and ``<`` work as well.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

MAX_LIMIT = 1000
_PROPERTY = re.compile(r"^(?P<field>[A-Za-z0-9_@$-]+(?:\.[A-Za-z0-9_@$-]+)*)(?P<op>==|!=|>=|<=|>|<)(?P<value>.*)$")

INVALID_PROPERTY = (
    "Invalid property filter '{raw}': expected <field><operator><value>, for example name==GenericStreamingAEP."
)
INVALID_LIMIT = "The limit parameter must be an integer between 1 and {max}, not '{raw}'."
INVALID_CONTINUATION = "The continuationToken parameter is not valid."


class QueryError(ValueError):
    """A list query the service cannot run; the message says why."""


@dataclass(frozen=True)
class PropertyFilter:
    field: str
    op: str
    values: tuple[str, ...]

    def matches(self, document: dict) -> bool:
        found, value = _lookup(document, self.field)
        candidates = value if isinstance(value, list) else [value]
        if not found:
            return self.op == "!="
        if self.op == "==":
            return any(_text(item) in self.values for item in candidates)
        if self.op == "!=":
            return all(_text(item) not in self.values for item in candidates)
        return any(_compare(item, self.op, wanted) for item in candidates for wanted in self.values)


@dataclass(frozen=True)
class Page:
    items: list
    next_offset: int | None


def parse_properties(raw_filters: list[str]) -> list[PropertyFilter]:
    filters = []
    for raw in raw_filters:
        text = raw.strip()
        if not text:
            continue
        match = _PROPERTY.match(text)
        if match is None:
            raise QueryError(INVALID_PROPERTY.format(raw=raw))
        values = tuple(part.strip() for part in match["value"].split(","))
        filters.append(PropertyFilter(field=match["field"], op=match["op"], values=values))
    return filters


def parse_limit(raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        limit = int(raw)
    except ValueError:
        raise QueryError(INVALID_LIMIT.format(max=MAX_LIMIT, raw=raw)) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(INVALID_LIMIT.format(max=MAX_LIMIT, raw=raw))
    return limit


def matches(document: dict, filters: list[PropertyFilter]) -> bool:
    """True when ``document`` passes every filter."""
    return all(f.matches(document) for f in filters)


def select(documents: list[dict], filters: list[PropertyFilter]) -> list[dict]:
    return [doc for doc in documents if matches(doc, filters)]


def paginate(items: list, *, offset: int, limit: int | None) -> Page:
    if limit is None:
        return Page(items=items[offset:], next_offset=None)
    end = offset + limit
    return Page(items=items[offset:end], next_offset=end if end < len(items) else None)


def continuation_encode(*, offset: int, limit: int, properties: list[str]) -> str:
    """An opaque token carrying the whole query, so a `_links.next.href` works as it stands."""
    state = {"o": offset, "l": limit, "p": [p for p in properties if p.strip()]}
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).rstrip(b"=").decode()


def continuation_decode(token: str) -> tuple[int, int, list[str]]:
    """(offset, limit, properties) of a token made by `continuation_encode`."""
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, limit, properties = int(state["o"]), int(state["l"]), [str(p) for p in state["p"]]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise QueryError(INVALID_CONTINUATION) from None
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(INVALID_CONTINUATION)
    return offset, limit, properties


def _lookup(document: Any, dotted: str) -> tuple[bool, Any]:
    value = document
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _compare(value: Any, op: str, wanted: str) -> bool:
    try:
        left, right = float(value), float(wanted)
    except (TypeError, ValueError):
        return False
    return {">=": left >= right, "<=": left <= right, ">": left > right, "<": left < right}[op]
