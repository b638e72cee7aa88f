"""RFC 6902 JSON Patch between two documents, as short as the change allows."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from flowadmin.documents.body import canonical_json


# --- differences -------------------------------------------------------------------------------
def json_patch(old: Any, new: Any) -> list[dict]:
    """RFC 6902 operations that turn ``old`` into ``new``."""
    if isinstance(old, dict) and isinstance(new, dict):
        # Top-level values that are the same object or the same JSON need no operation: leaving them
        # out spares jsonpatch a walk through all of a large document to change one list.
        old, new = _differing(old, new)
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys() and len(old) == 1:
        # Only one value differs (an id list, as a rule): a list of distinct strings gets its patch in
        # linear time; jsonpatch's list diff grows faster than the list.
        [key] = old
        operations = _unique_list_patch(old[key], new[key], _pointer("", key))
        if operations is not None:
            return operations
    operations = jsonpatch.make_patch(old, new).patch
    # jsonpatch compares with ``==`` (so 1 == 1.0 == True) and its move detection has had bugs:
    # keep its patch only when applying it really gives ``new``.
    try:
        result = jsonpatch.apply_patch(old, operations)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
        result = _NOT_EQUAL
    if result is _NOT_EQUAL or not _same(result, new):
        operations = _plain_patch(old, new, "")
    return operations


def _unique_list_patch(old: Any, new: Any, path: str) -> list[dict] | None:
    """Removes (highest index first), then appends, that turn ``old`` into ``new``; None unless both are
    lists of distinct strings and ``new`` keeps the remaining items of ``old`` in their order, first."""
    if not (isinstance(old, list) and isinstance(new, list)):
        return None
    if not all(isinstance(item, str) for item in old) or not all(isinstance(item, str) for item in new):
        return None
    old_set, new_set = set(old), set(new)
    if len(old_set) != len(old) or len(new_set) != len(new):
        return None
    kept = [item for item in old if item in new_set]
    if new[: len(kept)] != kept:
        return None
    operations: list[dict] = [
        {"op": "remove", "path": _pointer(path, index)}
        for index in range(len(old) - 1, -1, -1)
        if old[index] not in new_set
    ]
    operations += [
        {"op": "add", "path": _pointer(path, index), "value": new[index]} for index in range(len(kept), len(new))
    ]
    return operations


def _differing(old: dict, new: dict) -> tuple[dict, dict]:
    """``old`` and ``new`` without the keys whose values are equal as JSON (1, 1.0 and true differ)."""
    same = {
        key
        for key, value in old.items()
        if key in new and (new[key] is value or (new[key] == value and _same(new[key], value)))
    }
    return (
        {key: value for key, value in old.items() if key not in same},
        {key: value for key, value in new.items() if key not in same},
    )


_NOT_EQUAL = object()


def _same(a: Any, b: Any) -> bool:
    return canonical_json(a) == canonical_json(b)


def _pointer(path: str, key: str | int) -> str:
    return path + "/" + str(key).replace("~", "~0").replace("/", "~1")


def _plain_patch(old: Any, new: Any, path: str) -> list[dict]:
    """A simple patch (add/remove/replace, no moves), type-exact."""
    if _same(old, new):
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        operations = []
        for key in old:
            if key not in new:
                operations.append({"op": "remove", "path": _pointer(path, key)})
        for key, value in new.items():
            if key in old:
                operations += _plain_patch(old[key], value, _pointer(path, key))
            else:
                operations.append({"op": "add", "path": _pointer(path, key), "value": copy.deepcopy(value)})
        return operations
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        operations = []
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            operations += _plain_patch(before, after, _pointer(path, index))
        return operations
    return [{"op": "replace", "path": path, "value": copy.deepcopy(new)}]
