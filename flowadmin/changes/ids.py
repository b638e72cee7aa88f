"""Parsing and checking a list of connection spec ids as people type or paste it: one pure function.

The edit form, the live preview and the propose service all go through `ids_check`, so they agree
on every message. Rules:

* one id a line; blank lines are ignored; a line's surrounding whitespace is trimmed and its case
  lowered (``" BDB5B792-...  "`` is fine);
* anything else is "not a UUID", with its line number: braces, quotes, commas, NUL bytes, unicode
  look-alikes of hex digits (U+FF10 FULLWIDTH DIGIT ZERO, U+0430 CYRILLIC SMALL LETTER A...) — flowadmin never guesses;
* a repeated id is reported on its later line, naming the first;
* a list of more than ``FLOWADMIN_MAX_IDS`` non-blank lines is refused as a whole, before any line is
  judged (`TOO_MANY`), and a message reads at most `LINE_MAX` characters of a line: whatever is
  pasted, the work is linear in the text and bounded by the setting;
* an id the change *adds* must be a connection spec of the sandbox (as last synced, or as its Flow
  Service answered a live lookup: `IdContext.found_now`, `remote_missing`, `lookup_failed`) and must
  not be listed already by another flow spec of the sandbox. Ids the document already lists are kept even
  when they break those two rules (the change is not about them): they only get a note.

The new list keeps the current ids in their order (minus the removed ones) and appends the added
ones in the order typed, so ``(base, added, removed)`` fully determine the proposed document.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flowadmin.documents.ids import id_key, id_keys, normalise

SHOWN_MAX = 60
LINE_MAX = 200  # a longer line is not a UUID, however it is wrapped: only its start is read

NOT_A_UUID = "Line {line}: “{text}” is not a UUID{why}."
WHY_WRAPPED = " (write the 36 characters alone, without braces, quotes or commas)"
WHY_CHARACTER = " (it contains {char}, which is not an ASCII hex digit or a dash)"
TOO_MANY = (
    "The list has {count:,} lines: a proposal can hold at most {limit:,} connection spec ids. "
    "Shorten the list; no line was checked."
)
TOO_LARGE = (
    "The text sent is {size}: a proposal can hold at most {limit:,} connection spec ids (about {most}). "
    "Shorten the list; no line was checked."
)
BYTES_PER_LINE = 120  # an id line as a form posts it, with room for padding: bounds a live preview's body
WHY_LONG = " (the line is {length:,} characters long)"
DUPLICATE = "Line {line}: {id} is already on line {first}."
UNKNOWN = "Line {line}: {id} is not a connection spec of sandbox “{sandbox}” (as last synced)."
ATTACHED = "Line {line}: {id} is already used by flow spec “{name}” ({spec_id}) of this sandbox."
REMOTE_UNKNOWN = (
    "Line {line}: {id} is not a connection spec of sandbox “{sandbox}”: "
    "the Flow Service of sandbox “{sandbox}” does not know it."
)
LOOKUP_FAILED = "Line {line}: {id} is not cached for sandbox “{sandbox}”, and {why}."
FOUND_NOW = (
    "Line {line}: {id} is not in the last sync of sandbox “{sandbox}”: its Flow Service knows it as “{name}” "
    "(looked up live)."
)
NOTE_UNKNOWN = "Line {line}: {id} is not a connection spec of sandbox “{sandbox}”; it is listed already and kept."
NOTE_ATTACHED = "Line {line}: {id} is also used by flow spec “{name}” ({spec_id}); it is listed already and kept."

_WRAPPERS = set("{}[]()<>\"'`,;\u201c\u201d\u2018\u2019")
_HEXLIKE = set("0123456789abcdefABCDEF-")


@dataclass(frozen=True)
class AttachedTo:
    """Another flow spec of the sandbox that lists a connection spec id."""

    spec_id: str
    name: str


@dataclass(frozen=True)
class IdContext:
    """What the check needs to know of the sandbox (built by `selectors.id_context`)."""

    sandbox: str
    current: tuple[str, ...] = ()  # the ids the document lists now, as it lists them
    names: Mapping[str, str] = field(default_factory=dict)  # connection spec id (lower) -> name
    attached: Mapping[str, AttachedTo] = field(default_factory=dict)  # id (lower) -> other flow spec
    check_known: bool = True  # False: an id missing from ``names`` is no problem (a list judged for its form only)
    # What a live lookup (`flowadmin.catalog.lookup`) just said of ids missing from the cache:
    found_now: frozenset[str] = frozenset()  # looked up live since the last sync, cached (names in ``names``)
    remote_missing: frozenset[str] = frozenset()  # the Flow Service does not know them
    lookup_failed: Mapping[str, str] = field(default_factory=dict)  # id -> why the lookup failed


@dataclass(frozen=True)
class IdLine:
    number: int  # 1-based, counting blank lines too: what the textarea shows
    text: str  # as typed, line break removed
    id: str = ""  # the normalised id, "" when the line is not a UUID
    problems: tuple[str, ...] = ()  # block the proposal
    notes: tuple[str, ...] = ()  # shown, do not block


@dataclass(frozen=True)
class IdList:
    lines: tuple[IdLine, ...]  # the non-blank lines
    ids: tuple[str, ...]  # the new list: current order minus removed, then added in the order typed
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @functools.cached_property
    def problems(self) -> list[str]:
        return [problem for line in self.lines for problem in line.problems]

    @functools.cached_property
    def notes(self) -> list[str]:
        return [note for line in self.lines for note in line.notes]

    @functools.cached_property
    def ok(self) -> bool:
        return not any(line.problems for line in self.lines)

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.removed)


def split_lines(text: str) -> list[str]:
    """The lines of a textarea's value (browsers send CRLF; a lone CR counts as a break too)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def shown(text: str) -> str:
    """A line as a message quotes it: control and invisible characters made visible, long text cut."""
    out = []
    for char in text.strip()[: SHOWN_MAX + 1]:
        if char.isprintable() and unicodedata.category(char) not in ("Cf", "Zl", "Zp"):
            out.append(char)
        else:
            out.append(f"\\u{ord(char):04x}" if ord(char) > 0xFF else f"\\x{ord(char):02x}")
    result = "".join(out)
    return result if len(result) <= SHOWN_MAX else result[: SHOWN_MAX - 1] + "…"


def _why_not(text: str) -> str:
    stripped = text.strip()
    if len(stripped) > LINE_MAX:
        return WHY_LONG.format(length=len(stripped))
    for char in stripped:
        if char not in _HEXLIKE and (not char.isascii() or not char.isprintable()):
            name = unicodedata.name(char, "")
            label = f"U+{ord(char):04X}" + (f" {name}" if name else "")
            return WHY_CHARACTER.format(char=label)
    inner = stripped.strip("".join(_WRAPPERS)).strip()
    if inner != stripped and normalise(inner):
        return WHY_WRAPPED
    return ""


def ids_apply(current: Iterable[str], *, added: Iterable[str], removed: Iterable[str]) -> list[str]:
    """The list after the change: current ids (normalised) in order minus ``removed``, then ``added``."""
    gone = set(id_keys(removed))
    result: dict[str, None] = {}  # ordered, with constant-time membership
    for spec_id in current:
        key = id_key(spec_id)
        if key not in gone:
            result.setdefault(key)
    for spec_id in added:
        result.setdefault(id_key(spec_id))
    return list(result)


def max_ids() -> int:
    """How many ids a proposal may hold (``FLOWADMIN_MAX_IDS``)."""
    from django.conf import settings

    return settings.FLOWADMIN_MAX_IDS


def _too_many(lines: list[str], limit: int) -> int:
    """The number of non-blank lines when it is over ``limit``, else 0 (counted without judging a line)."""
    if len(lines) <= limit:
        return 0
    count = sum(map(bool, map(str.strip, lines)))
    return count if count > limit else 0


def ids_check(text: str, *, context: IdContext, limit: int | None = None) -> IdList:
    """Parse and check the textarea's ``text`` against ``context``; see the module docstring.

    ``limit``: the most ids a list may hold (`max_ids` when None)."""
    current = id_keys(context.current)
    current_set = set(current)
    first_line: dict[str, int] = {}
    lines: list[IdLine] = []
    raw_lines = split_lines(text)
    limit = max_ids() if limit is None else limit
    count = _too_many(raw_lines, limit)
    if count:
        problem = TOO_MANY.format(count=count, limit=limit)
        return IdList(lines=(IdLine(number=1, text="", problems=(problem,)),), ids=(), added=(), removed=())
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        spec_id = normalise(raw)
        if not spec_id:
            message = NOT_A_UUID.format(line=number, text=shown(raw), why=_why_not(raw))
            lines.append(IdLine(number=number, text=raw, problems=(message,)))
            continue
        if spec_id in first_line:
            message = DUPLICATE.format(line=number, id=spec_id, first=first_line[spec_id])
            lines.append(IdLine(number=number, text=raw, id=spec_id, problems=(message,)))
            continue
        first_line[spec_id] = number
        problems: list[str] = []
        notes: list[str] = []
        kept = spec_id in current_set
        if context.check_known and spec_id not in context.names:
            problems_or_notes = notes if kept else problems
            problems_or_notes.append(_unknown(context, number, spec_id, kept=kept))
        elif not kept and spec_id in context.found_now:
            notes.append(
                FOUND_NOW.format(line=number, id=spec_id, sandbox=context.sandbox, name=context.names[spec_id])
            )
        other = context.attached.get(spec_id)
        if other is not None:
            template = NOTE_ATTACHED if kept else ATTACHED
            (notes if kept else problems).append(
                template.format(line=number, id=spec_id, name=other.name or other.spec_id, spec_id=other.spec_id)
            )
        lines.append(IdLine(number=number, text=raw, id=spec_id, problems=tuple(problems), notes=tuple(notes)))
    typed = list(first_line)  # each id once, in the order typed
    typed_set = set(typed)
    added = tuple(spec_id for spec_id in typed if spec_id not in current_set)
    removed = tuple(dict.fromkeys(spec_id for spec_id in current if spec_id not in typed_set))
    return IdList(
        lines=tuple(lines),
        ids=tuple(ids_apply(current, added=added, removed=removed)),
        added=added,
        removed=removed,
    )


def _unknown(context: IdContext, number: int, spec_id: str, *, kept: bool) -> str:
    """Why an id missing from the cache is refused (or, listed already, noted)."""
    sandbox = context.sandbox
    if kept:
        return NOTE_UNKNOWN.format(line=number, id=spec_id, sandbox=sandbox)
    if spec_id in context.remote_missing:
        return REMOTE_UNKNOWN.format(line=number, id=spec_id, sandbox=sandbox)
    if spec_id in context.lookup_failed:
        return LOOKUP_FAILED.format(line=number, id=spec_id, sandbox=sandbox, why=context.lookup_failed[spec_id])
    return UNKNOWN.format(line=number, id=spec_id, sandbox=sandbox)


def ids_added(text: str, *, context: IdContext) -> list[str]:
    """The well-formed ids of ``text`` that the change would add (each once, in the order typed;
    nothing when the list is too long): what a live lookup may ask about."""
    lines = split_lines(text)
    if _too_many(lines, max_ids()):
        return []
    current = set(id_keys(context.current))
    wanted = (normalise(line) for line in lines if line.strip())
    return list(dict.fromkeys(spec_id for spec_id in wanted if spec_id and spec_id not in current))


def ids_text(ids: Iterable[str]) -> str:
    """A list of ids as the textarea shows it: one a line."""
    return "\n".join(ids)


def ids_text_with(text: str, spec_id: str) -> str:
    """``text`` with ``spec_id`` appended on a line of its own (the picker's no-JavaScript path)."""
    head = text.rstrip("\r\n\t ")
    return f"{head}\n{spec_id}" if head else spec_id
