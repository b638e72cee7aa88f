"""Parsing and checking a list of connection spec ids as people type or paste it: one pure function.

The edit form, the live preview and the propose service all go through `ids_check`, so they agree
on every message. Rules:

* one id a line; blank lines are ignored; a line's surrounding whitespace is trimmed and its case
  lowered (``" BDB5B792-...  "`` is fine);
* anything else is "not a UUID", with its line number: braces, quotes, commas, NUL bytes, unicode
  look-alikes of hex digits (U+FF10 FULLWIDTH DIGIT ZERO, U+0430 CYRILLIC SMALL LETTER A...) — flowadmin never guesses;
* a repeated id is reported on its later line, naming the first;
* an id the change *adds* must be a connection spec of the sandbox (as last synced) and must not be
  listed already by another flow spec of the sandbox. Ids the document already lists are kept even
  when they break those two rules (the change is not about them): they only get a note.

The new list keeps the current ids in their order (minus the removed ones) and appends the added
ones in the order typed, so ``(base, added, removed)`` fully determine the proposed document.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHOWN_MAX = 60

NOT_A_UUID = "Line {line}: “{text}” is not a UUID{why}."
WHY_WRAPPED = " (write the 36 characters alone, without braces, quotes or commas)"
WHY_CHARACTER = " (it contains {char}, which is not an ASCII hex digit or a dash)"
DUPLICATE = "Line {line}: {id} is already on line {first}."
UNKNOWN = "Line {line}: {id} is not a connection spec of sandbox “{sandbox}” (as last synced)."
ATTACHED = "Line {line}: {id} is already used by flow spec “{name}” ({spec_id}) of this sandbox."
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

    @property
    def problems(self) -> list[str]:
        return [problem for line in self.lines for problem in line.problems]

    @property
    def notes(self) -> list[str]:
        return [note for line in self.lines for note in line.notes]

    @property
    def ok(self) -> bool:
        return not any(line.problems for line in self.lines)

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.removed)


def split_lines(text: str) -> list[str]:
    """The lines of a textarea's value (browsers send CRLF; a lone CR counts as a break too)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def normalise(text: str) -> str:
    """A line's id: surrounding whitespace trimmed, lower case; "" when that is not a UUID."""
    candidate = text.strip()
    if not candidate.isascii():
        return ""
    candidate = candidate.lower()
    return candidate if UUID.fullmatch(candidate) else ""


def shown(text: str) -> str:
    """A line as a message quotes it: control and invisible characters made visible, long text cut."""
    out = []
    for char in text.strip():
        if char.isprintable() and unicodedata.category(char) not in ("Cf", "Zl", "Zp"):
            out.append(char)
        else:
            out.append(f"\\u{ord(char):04x}" if ord(char) > 0xFF else f"\\x{ord(char):02x}")
    result = "".join(out)
    return result if len(result) <= SHOWN_MAX else result[: SHOWN_MAX - 1] + "…"


def _why_not(text: str) -> str:
    stripped = text.strip()
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
    gone = {spec_id.strip().lower() for spec_id in removed}
    result: list[str] = []
    for spec_id in current:
        key = spec_id.strip().lower()
        if key not in gone and key not in result:
            result.append(key)
    for spec_id in added:
        key = spec_id.strip().lower()
        if key not in result:
            result.append(key)
    return result


def ids_check(text: str, *, context: IdContext) -> IdList:
    """Parse and check the textarea's ``text`` against ``context``; see the module docstring."""
    current = [spec_id.strip().lower() for spec_id in context.current if isinstance(spec_id, str)]
    current_set = set(current)
    first_line: dict[str, int] = {}
    lines: list[IdLine] = []
    for number, raw in enumerate(split_lines(text), start=1):
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
        if spec_id not in context.names:
            template = NOTE_UNKNOWN if kept else UNKNOWN
            (notes if kept else problems).append(template.format(line=number, id=spec_id, sandbox=context.sandbox))
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


def ids_text(ids: Iterable[str]) -> str:
    """A list of ids as the textarea shows it: one a line."""
    return "\n".join(ids)


def ids_text_with(text: str, spec_id: str) -> str:
    """``text`` with ``spec_id`` appended on a line of its own (the picker's no-JavaScript path)."""
    head = text.rstrip("\r\n\t ")
    return f"{head}\n{spec_id}" if head else spec_id
