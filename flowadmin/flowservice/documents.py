"""Rules for flow spec documents: pure functions, no I/O (but for reading the JSON Schema once).

A flow spec PUT is a full replacement, so the body must be the current remote document minus the
read-only metadata the server adds, with nothing else lost: unknown fields go back unchanged and in
their order.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jsonpatch
from jsonschema import Draft202012Validator, ValidationError

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
SCHEMA_PATH = Path(__file__).resolve().parent.parent.parent / "specs" / "flowspec.schema.json"


def put_body(document: dict) -> dict:
    """The document as a PUT must send it: read-only metadata dropped, everything else kept in order.

    A new top-level dict whose values are ``document``'s own (not copies): treat both as read-only.
    """
    return {key: value for key, value in document.items() if key not in READ_ONLY_FIELDS}


def canonical_json(document: Any) -> str:
    """Sorted keys, compact separators: equal documents give equal text (metadata is kept)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def pretty_json(document: Any) -> str:
    """Sorted keys, indented by 2: the text line diffs are made of."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)


def content_hash(document: dict) -> str:
    """sha256 (hex) of what a PUT would send, independent of metadata and key order."""
    return hashlib.sha256(canonical_json(put_body(document)).encode("utf-8")).hexdigest()


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


@dataclass(frozen=True)
class DiffLine:
    """One line of a line diff: a hunk header, a context line, an added or a deleted line.

    ``old_no``/``new_no`` are 1-based line numbers in ``pretty_json`` of the old/new document (None
    where the line does not exist on that side); for a hunk they are the first line of the hunk.
    """

    kind: Literal["hunk", "ctx", "add", "del"]
    text: str
    old_no: int | None = None
    new_no: int | None = None


@dataclass(frozen=True)
class PrettyText:
    """``pretty_json`` of a document, kept as lines per top-level key when it is a dict.

    A document that shares top-level values (the same objects) with another one is printed again
    only where it differs: `pretty_text(proposed, like=base_text)` of a 1 MB flow spec whose id
    list changed prints the list, not the megabyte.
    """

    document: Any
    chunks: dict[str, list[str]] | None  # key -> its lines inside the top-level object, without a comma

    @functools.cached_property
    def lines(self) -> list[str]:
        if self.chunks is None:
            return pretty_json(self.document).split("\n")
        keys = sorted(self.chunks)
        lines = ["{"]
        for key in keys[:-1]:
            chunk = self.chunks[key]
            lines += chunk[:-1]
            lines.append(chunk[-1] + ",")
        lines += self.chunks[keys[-1]]
        lines.append("}")
        return lines

    @functools.cached_property
    def text(self) -> str:
        return "\n".join(self.lines)

    def for_document(self, document: Any) -> PrettyText:
        """This text for ``document``, which is equal to this one's as JSON (a copy, say)."""
        twin = PrettyText(document=document, chunks=self.chunks)
        twin.__dict__.update({name: self.__dict__[name] for name in ("text", "lines") if name in self.__dict__})
        return twin


def pretty_text(document: Any, *, like: PrettyText | None = None) -> PrettyText:
    """`PrettyText` of ``document``, reusing the chunks of ``like`` for values that are the same objects."""
    if not (isinstance(document, dict) and document and all(isinstance(key, str) for key in document)):
        return PrettyText(document=document, chunks=None)
    reusable = like.chunks if like is not None and like.chunks is not None else {}
    chunks = {}
    for key, value in document.items():
        if key in reusable and like.document[key] is value:
            chunks[key] = reusable[key]
            continue
        # Split on "\n" only: JSON strings hold no raw "\n", but may hold other line separators.
        first, *rest = pretty_json(value).split("\n")
        chunks[key] = [f"  {json.dumps(key, ensure_ascii=False)}: {first}", *("  " + line for line in rest)]
    return PrettyText(document=document, chunks=chunks)


_PRINTED_SIZE = 16  # documents kept printed per process (a 1 MB document prints to a few MB of lines)
_printed: OrderedDict[str, PrettyText] = OrderedDict()
_printed_lock = threading.Lock()


def pretty_text_kept(document: Any, key: str) -> PrettyText:
    """`pretty_text` of ``document``, printed once per process and ``key`` (its PUT body's content hash).

    Printing a large document costs more than the rest of a page, and pages show the same documents
    again and again (a flow spec, its versions, a request's base). The PUT body's text is kept per
    content hash; the document's own metadata keys, small, are printed each time around it.
    """
    if not key or not isinstance(document, dict):
        return pretty_text(document)
    body = put_body(document)
    with _printed_lock:
        kept = _printed.get(key)
        if kept is not None:
            _printed.move_to_end(key)
    if kept is None:
        kept = pretty_text(body)
        kept.lines  # noqa: B018 - printed once, outside the lock, and kept
        with _printed_lock:
            _printed[key] = kept
            while len(_printed) > _PRINTED_SIZE:
                _printed.popitem(last=False)
    text = kept.for_document(body)
    return text if len(body) == len(document) else pretty_text(document, like=text)


def printed_forget() -> None:
    """Forget every kept printed document (a cold start, as the bench measures it)."""
    with _printed_lock:
        _printed.clear()


class LineDiff:
    """The line diff of two documents' `pretty_json`, printed and matched once, shown at any context."""

    def __init__(
        self, old: Any, new: Any, *, old_text: PrettyText | None = None, new_text: PrettyText | None = None
    ):
        """``None`` on either side stands for "no document" (every line added or deleted).
        ``old_text``/``new_text``: `pretty_text` of either when the caller has it already."""
        if old is None:
            old_lines, old_text = [], None
        else:
            old_text = old_text if old_text is not None else pretty_text(old)
            old_lines = old_text.lines
        if new is not None and new_text is None:
            new_text = pretty_text(new, like=old_text)
        new_lines = new_text.lines if new is not None else []
        self.old_lines, self.new_lines = old_lines, new_lines
        self.matcher = _TrimmedMatcher(a=old_lines, b=new_lines, autojunk=False)

    @property
    def equal(self) -> bool:
        return all(code[0] == "equal" for code in self.matcher.get_opcodes())

    def hunks(self, context: int = 3) -> list[DiffLine]:
        """Unified-diff-like hunks with ``context`` lines around each change; [] when equal."""
        old_lines, new_lines = self.old_lines, self.new_lines
        lines: list[DiffLine] = []
        for group in self.matcher.get_grouped_opcodes(context):
            old_start, old_end = group[0][1], group[-1][2]
            new_start, new_end = group[0][3], group[-1][4]
            header = f"@@ -{_range(old_start, old_end)} +{_range(new_start, new_end)} @@"
            lines.append(DiffLine("hunk", header, old_start + 1, new_start + 1))
            for tag, i1, i2, j1, j2 in group:
                if tag == "equal":
                    lines += [DiffLine("ctx", old_lines[i], i + 1, j1 + (i - i1) + 1) for i in range(i1, i2)]
                    continue
                lines += [DiffLine("del", old_lines[i], i + 1, None) for i in range(i1, i2)]
                lines += [DiffLine("add", new_lines[j], None, j + 1) for j in range(j1, j2)]
        return lines


def line_diff(old: Any, new: Any, *, context: int = 3) -> list[DiffLine]:
    """Unified-diff-like hunks between ``pretty_json(old)`` and ``pretty_json(new)``; [] when equal.

    ``None`` on either side stands for "no document" (every line added or deleted).
    """
    return LineDiff(old, new).hunks(context)


class _TrimmedMatcher(difflib.SequenceMatcher):
    """SequenceMatcher that leaves the common first and last lines out of its search.

    difflib's search is quadratic in lines that repeat (``},`` and the like, thousands of them in a
    large document); a change of a few ids touches a few lines in the middle, so matching only what
    lies between the common head and tail makes a 1 MB document's diff take milliseconds, not seconds.
    """

    def set_seq2(self, b):
        # No index of every line of b (SequenceMatcher's own): only the middle is searched, below.
        self.b = b
        self.matching_blocks = self.opcodes = None
        self.fullbcount = None

    def get_opcodes(self):
        # A copy each time: get_grouped_opcodes trims the first and last codes of the list it gets,
        # which would cut the context of every later grouping of the same matcher.
        if self.opcodes is not None:
            return list(self.opcodes)
        a, b = self.a, self.b
        head, limit = 0, min(len(a), len(b))
        while head < limit and a[head] == b[head]:
            head += 1
        tail = 0
        while tail < limit - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
            tail += 1
        middle = difflib.SequenceMatcher(a=a[head : len(a) - tail], b=b[head : len(b) - tail], autojunk=False)
        codes = [("equal", 0, head, 0, head)] if head else []
        shifted = [(tag, i1 + head, i2 + head, j1 + head, j2 + head) for tag, i1, i2, j1, j2 in middle.get_opcodes()]
        if tail:
            shifted.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
        for code in shifted:
            if code[0] == "equal" and codes and codes[-1][0] == "equal":
                codes[-1] = ("equal", codes[-1][1], code[2], codes[-1][3], code[4])
            elif code[1] != code[2] or code[3] != code[4]:
                codes.append(code)
        self.opcodes = codes
        return list(codes)


def _range(start: int, end: int) -> str:
    length = end - start
    first = start + 1 if length else start
    return f"{first},{length}" if length != 1 else f"{first}"


# --- validation --------------------------------------------------------------------------------
@functools.cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


_UUID_ANY_CASE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def validate_document(document: Any) -> list[str]:
    """What is wrong with ``document`` as a PUT body, per ``specs/flowspec.schema.json``; [] when valid.

    Each message starts with the JSON path of the offending value, e.g.
    ``sourceConnectionSpecIds[3]: 'abc' is not a valid UUID``.
    """
    errors = sorted(_validator().iter_errors(document), key=_error_order)
    messages: list[str] = []
    for error in errors:
        for message in _messages(error):
            if message not in messages:
                messages.append(message)
    return messages


def _error_order(error: ValidationError) -> list[tuple[int, Any]]:
    return [(0, part) if isinstance(part, int) else (1, str(part)) for part in error.absolute_path]


def json_path(parts: Iterable[str | int]) -> str:
    """``["a", 0, "b"]`` -> ``a[0].b``; the empty path is ``document``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_@$][\w@$-]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text or "document"


def _messages(error: ValidationError) -> list[str]:
    path = list(error.absolute_path)
    where = json_path(path)
    instance = error.instance
    if error.validator == "required":
        missing = [name for name in error.validator_value if isinstance(instance, dict) and name not in instance]
        return [f"{json_path([*path, name])}: is required" for name in missing]
    if error.validator == "pattern" and error.schema.get("format") == "uuid":
        if isinstance(instance, str) and _UUID_ANY_CASE.match(instance):
            return [f"{where}: {instance!r} must be written in lower case"]
        return [f"{where}: {instance!r} is not a valid UUID"]
    if error.validator == "uniqueItems" and isinstance(instance, list):
        seen: list = []
        repeated: list = []
        for item in instance:
            if item in seen and item not in repeated:
                repeated.append(item)
            seen.append(item)
        if repeated:
            return [f"{where}: {item!r} appears more than once" for item in repeated]
    if error.validator == "pattern" and error.validator_value == r"\S":
        return [] if instance == "" else [f"{where}: must not be blank"]
    if error.validator == "minLength" and instance == "":
        return [f"{where}: must not be empty"]
    return [f"{where}: {error.message}"]
