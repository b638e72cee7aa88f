"""Line diffs of two documents' pretty-printed text, and the printed text kept per content hash."""

from __future__ import annotations

import bisect
import difflib
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flowadmin.documents.body import put_body
from flowadmin.documents.kept import Kept, forget_all
from flowadmin.documents.printing import line_count, pretty


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


class Chunk:
    """A top-level value's lines inside the printed object (without a comma after the last one): counted
    at once, printed only when a line is read. A diff of a 1 MB flow spec whose id list changed reads
    the list's lines and a few around them, never those of the megabyte it shares with the other side."""

    __slots__ = ("_lines", "count", "key", "value")

    def __init__(self, key: str, value: Any):
        self.key, self.value, self._lines = key, value, None
        self.count = line_count(value)

    def __len__(self) -> int:
        return self.count

    @property
    def lines(self) -> list[str]:
        if self._lines is None:  # printed once; two threads printing it at once print the same lines
            # Split on "\n" only: JSON strings hold no raw "\n", but may hold other line separators.
            key = json.dumps(self.key, ensure_ascii=False)
            self._lines = f"  {key}: {pretty(self.value, '  ')}".split("\n")
        return self._lines


class Lines(Sequence):
    """The lines of a printed object, ``{``, its chunks in key order (each but the last with its comma)
    and ``}``; a chunk is printed when one of its lines is read."""

    def __init__(self, chunks: list[Chunk]):
        self._chunks = chunks
        self._starts, line = [], 1
        for chunk in chunks:
            self._starts.append(line)
            line += len(chunk)
        self._len = line + 1

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(self._len)
            if step == 1 and stop - start > _FEW:
                return self.all[start:stop]
            return [self._line(line) for line in range(start, stop, step)]
        line = index + self._len if index < 0 else index
        if not 0 <= line < self._len:
            raise IndexError(index)
        return self._line(line)

    def __iter__(self):
        return iter(self.all)

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    __hash__ = None

    def _line(self, line: int) -> str:
        if line == 0:
            return "{"
        if line == self._len - 1:
            return "}"
        number = bisect.bisect_right(self._starts, line) - 1
        chunk, at = self._chunks[number], line - self._starts[number]
        text = chunk.lines[at]
        return text + "," if at == len(chunk) - 1 and number < len(self._chunks) - 1 else text

    @functools.cached_property
    def all(self) -> list[str]:
        lines = ["{"]
        for chunk in self._chunks[:-1]:
            lines += chunk.lines[:-1]
            lines.append(chunk.lines[-1] + ",")
        lines += self._chunks[-1].lines
        lines.append("}")
        return lines


_FEW = 64  # a slice of more lines than this reads them all at once


@dataclass(frozen=True)
class PrettyText:
    """``pretty_json`` of a document, kept as a `Chunk` per top-level key when it is a dict.

    A document that shares top-level values (the same objects) with another one is printed again
    only where it differs: `pretty_text(proposed, like=base_text)` of a 1 MB flow spec whose id
    list changed prints the list, not the megabyte.
    """

    document: Any
    chunks: dict[str, Chunk] | None  # key -> its chunk

    @functools.cached_property
    def lines(self) -> Sequence[str]:
        if self.chunks is None:
            return pretty(self.document).split("\n")
        return Lines([self.chunks[key] for key in sorted(self.chunks)])

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
        else:
            chunks[key] = Chunk(key, value)
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
        kept = _printed.put(key, pretty_text(body, like=like))  # each chunk printed when first read
    text = kept.for_document(body)
    return text if len(body) == len(document) else pretty_text(document, like=text)


def printed_forget() -> None:
    """Forget every kept printed document and every value kept from one (`kept.forget_all`, with the
    stores registered by `kept.forget_also`): a cold start, as the bench measures it."""
    forget_all()


class LineDiff:
    """The line diff of two documents' `pretty_json`, printed and matched once, shown at any context."""

    def __init__(self, old: Any, new: Any, *, old_text: PrettyText | None = None, new_text: PrettyText | None = None):
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
            self.matcher.known = _shared_chunks(old_text, new_text)

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


def _shared_chunks(old: PrettyText, new: PrettyText) -> list[tuple[int, int, int]]:
    """Runs of lines known equal without comparing them, ``(old line, new line, count)`` in order: the
    top-level values both texts print from the same chunk (a shared value, `pretty_text(like=...)`)."""
    if old.chunks is None or new.chunks is None:
        return []
    runs = []
    old_keys, new_keys = sorted(old.chunks), sorted(new.chunks)
    old_at = dict(zip(old_keys, _starts(old, old_keys), strict=True))
    new_at = dict(zip(new_keys, _starts(new, new_keys), strict=True))
    for key in old_keys:
        chunk = old.chunks[key]
        if new.chunks.get(key) is not chunk:
            continue
        # Its last line has a comma in either text unless it is the last key there: compared if they differ.
        same_comma = (key == old_keys[-1]) == (key == new_keys[-1])
        runs.append((old_at[key], new_at[key], len(chunk) if same_comma else len(chunk) - 1))
    return runs


def _starts(text: PrettyText, keys: list[str]) -> list[int]:
    starts, line = [], 1  # after "{"
    for key in keys:
        starts.append(line)
        line += len(text.chunks[key])
    return starts


class _TrimmedMatcher(difflib.SequenceMatcher):
    """SequenceMatcher that searches only the lines it does not know equal.

    difflib's search is quadratic in lines that repeat (``},`` and the like, thousands of them in a
    large document); a change of a few ids touches a few lines in the middle. Runs known equal
    (``known``: the values both documents share, `_shared_chunks`) are not read at all (a document's
    chunks are printed only when read); between them the common first and last lines are left out of
    the search: a 1 MB document's diff takes milliseconds, not seconds.
    """

    known: list[tuple[int, int, int]] = []

    def set_seq2(self, b):
        # No index of every line of b (SequenceMatcher's own): only what lies between, below.
        self.b = b
        self.matching_blocks = self.opcodes = None
        self.fullbcount = None

    def get_opcodes(self):
        # A copy each time: get_grouped_opcodes trims the first and last codes of the list it gets,
        # which would cut the context of every later grouping of the same matcher.
        if self.opcodes is not None:
            return list(self.opcodes)
        codes: list[tuple[str, int, int, int, int]] = []
        i = j = 0
        for old_at, new_at, count in [*self.known, (len(self.a), len(self.b), 0)]:
            shifted = self._between(i, old_at, j, new_at)
            if count:
                shifted.append(("equal", old_at, old_at + count, new_at, new_at + count))
            for code in shifted:
                if code[0] == "equal" and codes and codes[-1][0] == "equal":
                    codes[-1] = ("equal", codes[-1][1], code[2], codes[-1][3], code[4])
                elif code[1] != code[2] or code[3] != code[4]:
                    codes.append(code)
            i, j = old_at + count, new_at + count
        self.opcodes = codes
        return list(codes)

    def _between(self, i1: int, i2: int, j1: int, j2: int) -> list[tuple[str, int, int, int, int]]:
        """The codes of ``a[i1:i2]`` against ``b[j1:j2]``, their common first and last lines not searched."""
        a, b = self.a, self.b
        head = 0
        while i1 + head < i2 and j1 + head < j2 and a[i1 + head] == b[j1 + head]:
            head += 1
        tail = 0
        while i1 + head < i2 - tail and j1 + head < j2 - tail and a[i2 - 1 - tail] == b[j2 - 1 - tail]:
            tail += 1
        codes = [("equal", i1, i1 + head, j1, j1 + head)]
        old, new = (i1 + head, i2 - tail), (j1 + head, j2 - tail)
        if old[0] == old[1] or new[0] == new[1]:  # only added or only deleted lines: nothing to search
            tag = "equal" if old[0] == old[1] and new[0] == new[1] else "insert" if old[0] == old[1] else "delete"
            codes.append((tag, *old, *new))
        else:
            middle = difflib.SequenceMatcher(a=a[old[0] : old[1]], b=b[new[0] : new[1]], autojunk=False)
            for tag, x1, x2, y1, y2 in middle.get_opcodes():
                codes.append((tag, x1 + old[0], x2 + old[0], y1 + new[0], y2 + new[0]))
        codes.append(("equal", i2 - tail, i2, j2 - tail, j2))
        return codes


def _range(start: int, end: int) -> str:
    length = end - start
    first = start + 1 if length else start
    return f"{first},{length}" if length != 1 else f"{first}"
