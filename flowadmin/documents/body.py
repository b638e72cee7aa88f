"""The PUT body of a flow spec document, its canonical text and hash, and its source ids.

A flow spec PUT is a full replacement, so the body must be the current remote document minus the
read-only metadata the server adds, with nothing else lost: unknown fields go back unchanged and in
their order.
"""

from __future__ import annotations

import hashlib
import json
import marshal
from collections.abc import Iterable
from typing import Any

from flowadmin.documents.printing import pretty

READ_ONLY_FIELDS: frozenset[str] = frozenset(
    {
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
        "createdClient",
        "updatedClient",
        "sandboxId",
        "sandboxName",
        "imsOrgId",
        "etag",
        "_links",
        "_page",
    }
)
SOURCE_IDS_FIELD = "sourceConnectionSpecIds"


def put_body(document: dict) -> dict:
    """The document as a PUT must send it: read-only metadata dropped, everything else kept in order.

    A new top-level dict whose values are ``document``'s own (not copies): treat both as read-only.
    """
    return {key: value for key, value in document.items() if key not in READ_ONLY_FIELDS}


def canonical_json(document: Any) -> str:
    """Sorted keys, compact separators: equal documents give equal text (metadata is kept)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def pretty_json(document: Any) -> str:
    """Sorted keys, indented by 2: the text line diffs are made of (`printing.pretty`: json.dumps's text)."""
    return pretty(document)


def content_hash(document: dict) -> str:
    """sha256 (hex) of what a PUT would send, independent of metadata and key order."""
    return hashlib.sha256(canonical_json(put_body(document)).encode("utf-8")).hexdigest()


def metadata_hash(document: dict) -> str:
    """sha256 (hex) of the read-only metadata alone (``updatedAt``, ...), independent of key order.

    With `content_hash` it names the whole document: two documents with both hashes equal are equal,
    so a stored document can be compared with a listed one without reading it back.
    """
    metadata = {key: value for key, value in document.items() if key in READ_ONLY_FIELDS}
    return hashlib.sha256(canonical_json(metadata).encode("utf-8")).hexdigest()


def source_ids(document: dict) -> list[str]:
    """The document's ``sourceConnectionSpecIds`` (a new list; empty when absent or not a list)."""
    ids = document.get(SOURCE_IDS_FIELD)
    return list(ids) if isinstance(ids, list) else []


def with_source_ids(document: dict, ids: Iterable[str]) -> dict:
    """A new document equal to ``document`` but for ``sourceConnectionSpecIds``, which becomes ``ids``.

    The field keeps its place among the keys (it is appended when the document had none).
    The other values are ``document``'s own, not copies (a deep copy of a 1 MB document costs more
    than the rest of a preview): treat both as read-only.
    """
    new = dict(document)
    new[SOURCE_IDS_FIELD] = list(ids)
    return new


def shared_with(document: dict, other: dict) -> dict:
    """``document`` with each top-level value that equals ``other``'s replaced by ``other``'s own object.

    Two documents decoded apart (a request's base and its proposal, read from the database) share
    nothing; once they share their equal values, printing and patching the second reuse what was done
    for the first (`pretty_text(like=...)`, `json_patch`), so only the changed keys cost anything.
    """
    shared = {}
    for key, value in document.items():
        mine = other.get(key, _MISSING)
        shared[key] = mine if mine is value or (mine is not _MISSING and _same_json(mine, value)) else value
    return shared


def _same_json(one: Any, other: Any) -> bool:
    """``one`` and ``other`` print to the same JSON text.

    Equal as Python values first (fast), then of the same types too: 1, 1.0 and true are equal in
    Python only. marshal (version 2: no references between objects) writes each value with its type,
    in C, in a fraction of the time printing both would take; objects whose keys come in another
    order write differently and count as different (they print alike: only the sharing is lost)."""
    if one != other:
        return False
    try:
        return marshal.dumps(one, 2) == marshal.dumps(other, 2)
    except ValueError:  # not a JSON value
        return canonical_json(one) == canonical_json(other)


_MISSING = object()
