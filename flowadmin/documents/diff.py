"""Line diffs of two documents' pretty-printed text, and the printed text kept per content hash."""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass
from typing import Any, Literal

from flowadmin.documents.body import put_body
from flowadmin.documents.kept import Kept, forget_all
from flowadmin.documents.printing import pretty


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
class FoldedRun:
    """Unchanged lines of a whole-document diff shown on request: ``lines`` from line ``old_no`` of the
    old document and ``new_no`` of the new one on."""

    lines: list[str]
    old_no: int
    new_no: int

    @property
    def new_last(self) -> int:
        return self.new_no + len(self.lines) - 1


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
            return pretty(self.document).split("\n")
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
        chunks[key] = f"  {json.dumps(key, ensure_ascii=False)}: {pretty(value, '  ')}".split("\n")
    return PrettyText(document=document, chunks=chunks)


_printed: Kept[PrettyText] = Kept(16)  # documents kept printed (a 1 MB document prints to a few MB of lines)


def pretty_text_kept(document: Any, key: str, *, like: PrettyText | None = None) -> PrettyText:
    """`pretty_text` of ``document``, printed once per process and ``key`` (its PUT body's content hash).

    Printing a large document costs more than the rest of a page, and pages show the same documents
    again and again (a flow spec, its versions, a request's base). The PUT body's text is kept per
    content hash; the document's own metadata keys, small, are printed each time around it.
    ``like``: a text whose chunks the body may reuse when printed (`pretty_text`).
    """
    if not key or not isinstance(document, dict):
        return pretty_text(document, like=like)
    body = put_body(document)
    kept = _printed.get(key)
    if kept is None:
        kept = pretty_text(body, like=like)
        kept.lines  # noqa: B018 - printed once, outside the lock, and kept
        _printed.put(key, kept)
    text = kept.for_document(body)
    return text if len(body) == len(document) else pretty_text(document, like=text)


def printed_forget() -> None:
    """Forget every kept printed document and every value kept from one (`kept.forget_all`): a cold
    start, as the bench measures it."""
    forget_all()


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
        if old is not None and new is not None:
            self.matcher.known_head, self.matcher.known_tail = _shared_ends(old_text, new_text)

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


    def whole(self, *, context: int = 3, fold_over: int = 40) -> list[DiffLine | FoldedRun]:
        """Every line, the changed ones marked; an unchanged run of more than ``fold_over`` lines is one
        `FoldedRun` but for ``context`` lines at either end (next to a change). No line is left out."""
        old_lines, new_lines = self.old_lines, self.new_lines
        items: list[DiffLine | FoldedRun] = []
        header = f"@@ -{_range(0, len(old_lines))} +{_range(0, len(new_lines))} @@"
        if old_lines or new_lines:
            items.append(DiffLine("hunk", header, 1, 1))
        for tag, i1, i2, j1, j2 in self.matcher.get_opcodes():
            if tag != "equal":
                items += [DiffLine("del", old_lines[i], i + 1, None) for i in range(i1, i2)]
                items += [DiffLine("add", new_lines[j], None, j + 1) for j in range(j1, j2)]
                continue
            keep_before = context if i1 > 0 else 0  # lines after a change, before the fold
            keep_after = context if i2 < len(old_lines) else 0
            if i2 - i1 - keep_before - keep_after <= fold_over:
                keep_before, keep_after = i2 - i1, 0
            shown = [(i, j1 + i - i1) for i in range(i1, i1 + keep_before)]
            items += [DiffLine("ctx", old_lines[i], i + 1, j + 1) for i, j in shown]
            start, end = i1 + keep_before, i2 - keep_after
            if end > start:
                items.append(FoldedRun(old_lines[start:end], start + 1, j1 + start - i1 + 1))
            items += [DiffLine("ctx", old_lines[i], i + 1, j1 + i - i1 + 1) for i in range(end, i2)]
        return items


def line_diff(old: Any, new: Any, *, context: int = 3) -> list[DiffLine]:
    """Unified-diff-like hunks between ``pretty_json(old)`` and ``pretty_json(new)``; [] when equal.

    ``None`` on either side stands for "no document" (every line added or deleted).
    """
    return LineDiff(old, new).hunks(context)


def _shared_ends(old: PrettyText, new: PrettyText) -> tuple[int, int]:
    """Lines known equal at the start and at the end of both texts without comparing them: those of
    the top-level values both print from the same chunk (a shared value, `pretty_text(like=...)`)."""
    if old.chunks is None or new.chunks is None:
        return 0, 0
    old_keys, new_keys = sorted(old.chunks), sorted(new.chunks)
    ends = []
    for step in (1, -1):
        known = 1  # "{" or "}"
        for old_key, new_key in zip(old_keys[::step], new_keys[::step], strict=False):
            chunk = old.chunks[old_key]
            if old_key != new_key or chunk is not new.chunks[new_key]:
                break
            known += len(chunk)
        ends.append(known - 1)  # the line next to the first change may differ by its comma: compared
    return ends[0], ends[1]


class _TrimmedMatcher(difflib.SequenceMatcher):
    """SequenceMatcher that leaves the common first and last lines out of its search.

    difflib's search is quadratic in lines that repeat (``},`` and the like, thousands of them in a
    large document); a change of a few ids touches a few lines in the middle, so matching only what
    lies between the common head and tail makes a 1 MB document's diff take milliseconds, not seconds.
    """

    known_head = known_tail = 0  # lines known to be equal at either end (`_shared_ends`)

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
        limit = min(len(a), len(b))
        head = min(self.known_head, limit)
        while head < limit and a[head] == b[head]:
            head += 1
        tail = min(self.known_tail, limit - head)
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
