"""Flow Service list queries: `property` filters, `orderby` and continuation-token paging (pure functions).

``property=name==X`` keeps documents whose field equals X; ``id==a,b`` means a OR b; repeated
`property` parameters are ANDed; an empty ``property=`` is no filter. Dotted names reach into
objects (``attributes.frequency==streaming``) and array fields match when any element does
(``sourceConnectionSpecIds==<id>``). ``[]`` after a name walks into the items of an array, as
Adobe writes it (``sourceConnectionIds[]==<id>``, ``transformations[].name==Mapping``).
``!=``, ``>=``, ``<=``, ``>`` and ``<`` work as well. Nothing else is documented by Adobe (no
``in(...)``): any other form is refused.

``orderby=name`` sorts ascending, ``-name`` descending (``+name`` is ascending too); documents
without the field come last, ties keep the order of creation.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

MAX_LIMIT = 1000
_NAME = r"[A-Za-z0-9_@$-]+(?:\[\])?"
_FIELD = rf"{_NAME}(?:\.{_NAME})*"
_PROPERTY = re.compile(rf"^(?P<field>{_FIELD})(?P<op>==|!=|>=|<=|>|<)(?P<value>.*)$")
_ORDER = re.compile(rf"^(?P<sign>[+-]?)(?P<field>{_FIELD})$")

INVALID_PROPERTY = (
    "Invalid property filter '{raw}': expected <field><operator><value>, for example name==GenericStreamingAEP."
)
INVALID_LIMIT = "The limit parameter must be an integer between 1 and {max}, not '{raw}'."
INVALID_CONTINUATION = "The continuationToken parameter is not valid."
INVALID_ORDER = "Invalid orderby '{raw}': expected a field name, optionally after + or -, for example -createdAt."
INVALID_COUNT = "The count parameter must be true or false, not '{raw}'."


class QueryError(ValueError):
    """A list query the service cannot run; the message says why."""


@dataclass(frozen=True)
class PropertyFilter:
    field: str
    op: str
    values: tuple[str, ...]

    def may_match(self, text: str) -> bool:
        """False only when the document's JSON text cannot pass: no value of an `==` appears in it.

        Checked on plain values only (printable ASCII without quotes, backslashes or brackets), which
        JSON writes as they are, so a text is parsed only when it may match.
        """
        if self.op != "==" or not all(_plain(value) for value in self.values):
            return True
        return any(value in text for value in self.values)

    def matches(self, document: dict) -> bool:
        candidates = values_at(document, self.field)
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


def parse_orderby(raw: str | None) -> str:
    """The `orderby` value, checked ("" when none)."""
    text = (raw or "").strip()
    if text and _ORDER.match(text) is None:
        raise QueryError(INVALID_ORDER.format(raw=raw))
    return text


def parse_count(raw: str | None) -> bool:
    text = (raw or "").strip().lower()
    if text not in ("", "true", "false"):
        raise QueryError(INVALID_COUNT.format(raw=raw))
    return text == "true"


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


def select_texts(texts: list[str], filters: list[PropertyFilter], orderby: str = "") -> list[str]:
    """The stored JSON texts that pass every filter, in `orderby` order (creation order without one)."""
    if not filters and not orderby:
        return texts
    kept = [index for index, text in enumerate(texts) if all(f.may_match(text) for f in filters)]
    documents = [json.loads(texts[index]) for index in kept]
    passing = [position for position, document in enumerate(documents) if matches(document, filters)]
    if orderby:
        passing = [passing[i] for i in order([documents[position] for position in passing], orderby)]
    return [texts[kept[position]] for position in passing]


def order(documents: list[dict], orderby: str) -> list[int]:
    """The positions of ``documents`` in `orderby` order (stable; documents lacking the field last)."""
    match = _ORDER.match(orderby)
    if match is None:
        return list(range(len(documents)))
    descending, field = match["sign"] == "-", match["field"]
    present, missing = [], []
    for position, document in enumerate(documents):
        found = values_at(document, field)
        (present if found else missing).append((_sort_key(found[0]), position) if found else position)
    present.sort(key=lambda pair: pair[0], reverse=descending)  # sort is stable, reversed too
    return [position for _, position in present] + missing


def paginate(items: list, *, offset: int, limit: int | None) -> Page:
    if limit is None:
        return Page(items=items[offset:], next_offset=None)
    end = offset + limit
    return Page(items=items[offset:end], next_offset=end if end < len(items) else None)


def continuation_encode(*, offset: int, limit: int, properties: list[str], orderby: str = "") -> str:
    """An opaque token carrying the whole query, so a `_links.next.href` works as it stands."""
    state: dict[str, Any] = {"o": offset, "l": limit, "p": [p for p in properties if p.strip()]}
    if orderby:
        state["s"] = orderby
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).rstrip(b"=").decode()


@dataclass(frozen=True)
class Continuation:
    offset: int
    limit: int
    properties: list[str]
    orderby: str = ""


def continuation_decode(token: str) -> Continuation:
    """The query carried by a token made by `continuation_encode`."""
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        query = Continuation(
            offset=int(state["o"]),
            limit=int(state["l"]),
            properties=[str(p) for p in state["p"]],
            orderby=parse_orderby(str(state.get("s", ""))),
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise QueryError(INVALID_CONTINUATION) from None
    if query.offset < 0 or not 1 <= query.limit <= MAX_LIMIT:
        raise QueryError(INVALID_CONTINUATION)
    return query


def values_at(document: Any, field: str) -> list:
    """Every value at a dotted path: ``name[]`` steps into each item of an array, and a final array
    gives its items. [] when the path leads nowhere."""
    values = [document]
    for part in field.split("."):
        each = part.endswith("[]")
        name = part[:-2] if each else part
        found = []
        for value in values:
            if not isinstance(value, dict) or name not in value:
                continue
            inner = value[name]
            if each:
                found.extend(inner if isinstance(inner, list) else [])
            else:
                found.append(inner)
        values = found
    flat = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def _plain(value: str) -> bool:
    return all(" " <= char <= "~" and char not in '"\\[{' for char in value)


def _sort_key(value: Any) -> tuple:
    """Numbers before text (each in its own order), then anything else by its JSON text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value, "")
    if isinstance(value, str):
        return (1, 0, value)
    return (2, 0, _text(value))


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
