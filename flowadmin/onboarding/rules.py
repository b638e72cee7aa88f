"""Which flow specs a source fits, and why: the rules are data (`specs/onboarding_rules.json`).

Each rule names a *test* (a function of this module, listed in `TESTS`), the points it gives when the
test holds and the reason shown beside the flow spec. A flow spec's score is the sum of the points of
the rules that hold; it *fits* from the table's ``fits_from``. Pure functions over the dataclasses
below: the page's reads are `flowadmin.onboarding.selectors`.

    book = rule_book()
    fits = rank(source, candidates, book)   # best first: [Fit(candidate, score, matches, fits)]
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from flowadmin.catalog.providers import provider_name

RULES_FILE = Path(settings.BASE_DIR) / "specs" / "onboarding_rules.json"
NAMES_SHOWN = 3
BAD_TABLE = "specs/onboarding_rules.json: {why}"


@dataclass(frozen=True)
class Source:
    """The connection spec being onboarded (its cached columns)."""

    spec_id: str
    name: str = ""
    provider_id: str = ""
    category: str = ""
    frequency: str = ""


@dataclass(frozen=True)
class Sibling:
    """A source a flow spec already carries."""

    spec_id: str
    name: str = ""
    provider_id: str = ""
    category: str = ""


@dataclass(frozen=True)
class Candidate:
    """A flow spec the source could be added to (its copies across sandboxes taken together)."""

    spec_id: str
    name: str = ""
    provider_id: str = ""
    frequency: str = ""
    siblings: tuple[Sibling, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    test: str
    points: int
    reason: str


@dataclass(frozen=True)
class RuleBook:
    rules: tuple[Rule, ...]
    fits_from: int


@dataclass(frozen=True)
class Match:
    rule_id: str
    points: int
    reason: str


@dataclass(frozen=True)
class Fit:
    candidate: Candidate
    score: int
    matches: tuple[Match, ...]
    fits: bool


# --- the tests: each returns the reason's placeholders when it holds, else None ---------------------
def _names(siblings: Sequence[Sibling]) -> str:
    names = [sibling.name or sibling.spec_id for sibling in siblings]
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")


def _siblings(siblings: Sequence[Sibling]) -> dict:
    return {"count": len(siblings), "plural": "" if len(siblings) == 1 else "s", "names": _names(siblings)}


def _same(a: str, b: str) -> bool:
    return bool(a) and a.strip().lower() == b.strip().lower()


def same_frequency(source: Source, candidate: Candidate) -> dict | None:
    return {"frequency": source.frequency.lower()} if _same(source.frequency, candidate.frequency) else None


def other_frequency(source: Source, candidate: Candidate) -> dict | None:
    if not source.frequency or not candidate.frequency or _same(source.frequency, candidate.frequency):
        return None
    return {"frequency": source.frequency.lower(), "flow_frequency": candidate.frequency.lower()}


def same_provider(source: Source, candidate: Candidate) -> dict | None:
    if not _same(source.provider_id, candidate.provider_id):
        return None
    return {"provider": provider_name(source.provider_id) or source.provider_id}


def siblings_same_category(source: Source, candidate: Candidate) -> dict | None:
    found = [s for s in candidate.siblings if s.spec_id != source.spec_id and _same(source.category, s.category)]
    return {"category": source.category, **_siblings(found)} if found else None


def siblings_same_provider(source: Source, candidate: Candidate) -> dict | None:
    found = [s for s in candidate.siblings if s.spec_id != source.spec_id and _same(source.provider_id, s.provider_id)]
    return {"provider": provider_name(source.provider_id) or source.provider_id, **_siblings(found)} if found else None


TESTS: dict[str, Callable[[Source, Candidate], dict | None]] = {
    "same_frequency": same_frequency,
    "other_frequency": other_frequency,
    "same_provider": same_provider,
    "siblings_same_category": siblings_same_category,
    "siblings_same_provider": siblings_same_provider,
}


# --- the table -------------------------------------------------------------------------------------
def rule_book_parse(data) -> RuleBook:
    """The table as loaded from JSON; ImproperlyConfigured saying what is wrong with it."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ImproperlyConfigured(BAD_TABLE.format(why="an object with a list “rules” is expected"))
    rules = []
    for index, item in enumerate(data["rules"], start=1):
        if not isinstance(item, dict):
            raise ImproperlyConfigured(BAD_TABLE.format(why=f"rule {index} is not an object"))
        test, points = item.get("test"), item.get("points")
        if test not in TESTS:
            why = f"rule {index} has test {test!r}; the tests are {', '.join(sorted(TESTS))}"
            raise ImproperlyConfigured(BAD_TABLE.format(why=why))
        if isinstance(points, bool) or not isinstance(points, int):
            raise ImproperlyConfigured(BAD_TABLE.format(why=f"rule {index} needs whole-number “points”"))
        rules.append(
            Rule(id=str(item.get("id") or test), test=test, points=points, reason=str(item.get("reason") or test))
        )
    fits_from = data.get("fits_from", 1)
    if isinstance(fits_from, bool) or not isinstance(fits_from, int):
        raise ImproperlyConfigured(BAD_TABLE.format(why="“fits_from” must be a whole number"))
    return RuleBook(rules=tuple(rules), fits_from=fits_from)


@functools.cache
def rule_book() -> RuleBook:
    """The table of `RULES_FILE`, read once per process."""
    try:
        data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ImproperlyConfigured(BAD_TABLE.format(why=f"cannot be read ({error})")) from error
    return rule_book_parse(data)


def rule_match(rule: Rule, source: Source, candidate: Candidate) -> Match | None:
    """The rule's verdict on one flow spec: its points and reason when its test holds."""
    values = TESTS[rule.test](source, candidate)
    if values is None:
        return None
    try:
        reason = rule.reason.format(**values)
    except (KeyError, IndexError, ValueError):
        reason = rule.reason
    return Match(rule_id=rule.id, points=rule.points, reason=reason)


def fit(source: Source, candidate: Candidate, book: RuleBook) -> Fit:
    matches = tuple(m for m in (rule_match(rule, source, candidate) for rule in book.rules) if m is not None)
    score = sum(match.points for match in matches)
    return Fit(candidate=candidate, score=score, matches=matches, fits=score >= book.fits_from)


def rank(source: Source, candidates: Sequence[Candidate], book: RuleBook | None = None) -> list[Fit]:
    """Every candidate with its score and reasons, best first (then by name)."""
    book = book or rule_book()
    fits = [fit(source, candidate, book) for candidate in candidates]
    return sorted(fits, key=lambda f: (-f.score, f.candidate.name.lower(), f.candidate.spec_id))
