"""A JSON value printed exactly as `json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)` prints it.

The standard library prints an indented document in pure Python, one generator step per piece: a
large flow spec (1 MB, some 60,000 lines) takes tens of milliseconds. Here the pieces are appended
to one list, and each object or array that holds only scalars is printed by the standard library's
C encoder in one call (its item separator carries the line break and the indent): the same text in
about half the time. A value a document decoded from JSON cannot hold (keys that are not strings,
tuples, subclasses) is left to `json.dumps`, so the text is the same whatever the value.
"""

from __future__ import annotations

import functools
import json
from json.encoder import c_make_encoder, encode_basestring
from typing import Any

_INFINITIES = (float("inf"), float("-inf"))


class _Unusual(Exception):
    """A value this printer leaves to `json.dumps`."""


def pretty(value: Any, indent: str = "") -> str:
    """``json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)``, every line
    after the first one starting with ``indent`` more (the value printed inside another one)."""
    parts: list[str] = []
    try:
        _print(value, parts, indent, set())
    except (_Unusual, TypeError):  # keys that are not strings, to begin with
        text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
        return text.replace("\n", "\n" + indent) if indent else text
    return "".join(parts)


def line_count(value: Any) -> int:
    """How many lines `pretty` prints for ``value``, without printing it.

    The C encoder writes ``value`` compactly with every string as ``0`` (so that no string holds a
    bracket or a comma): the printed text has a line per value but for one per comma it has not,
    plus the closing line of each object or array that is not empty. A tenth of printing's time."""
    if _COUNTING is None:  # pragma: no cover - CPython has the C encoder
        return pretty(value).count("\n") + 1
    text = "".join(_COUNTING(value, 0))
    containers = text.count("{") + text.count("[") - text.count("{}") - text.count("[]")
    return 1 + text.count(",") + 2 * containers


# Every string written as 0: "0%.0s" % text is "0", in C.
_COUNTING = c_make_encoder and c_make_encoder(None, None, "0%.0s".__mod__, None, ":", ",", False, False, False)


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        if value != value or value in _INFINITIES:
            raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
        return float.__repr__(value)
    raise _Unusual


@functools.cache
def _flat_encoder(inner: str):
    """The C encoder printing a container of scalars with one item a line, indented by ``inner``."""
    if c_make_encoder is None:  # pragma: no cover - CPython has it
        raise _Unusual
    return c_make_encoder(None, None, encode_basestring, None, ": ", ",\n" + inner, True, False, False)


def _print(value: Any, parts: list[str], indent: str, seen: set[int]) -> None:
    kind = type(value)
    if kind is not dict and kind is not list:
        parts.append(_scalar(value))
        return
    if not value:
        parts.append("{}" if kind is dict else "[]")
        return
    inner = indent + "  "
    items = value.values() if kind is dict else value
    if _FLAT.issuperset(map(type, items)):
        text = "".join(_flat_encoder(inner)(value, 0))
        parts += (text[0], "\n", inner, text[1:-1], "\n", indent, text[-1])
        return
    marker = id(value)
    if marker in seen:
        raise ValueError("Circular reference detected")
    seen.add(marker)
    separator, later = "\n" + inner, ",\n" + inner
    if kind is dict:
        parts.append("{")
        for key in sorted(value):
            item = value[key]
            parts += (separator, encode_basestring(key), ": ")
            separator = later
            if type(item) is str:  # most items: printed here rather than by a call
                parts.append(encode_basestring(item))
            else:
                _print(item, parts, inner, seen)
        parts += ("\n", indent, "}")
    else:
        parts.append("[")
        for item in value:
            parts.append(separator)
            separator = later
            if type(item) is str:
                parts.append(encode_basestring(item))
            else:
                _print(item, parts, inner, seen)
        parts += ("\n", indent, "]")
    seen.discard(marker)


# Items the C encoder prints as the pure one does: scalars (a float's text is its repr in both).
_FLAT = frozenset({str, int, float, bool, type(None)})
