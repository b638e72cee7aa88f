"""Reads of the audit trail: filtered lists, keyset pages, exports, one event with its diff."""

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat

from flowadmin.audit.checkpoint_records import checkpoint_record
from flowadmin.audit.models import SEARCH_TERM, AuditCheckpoint, AuditEvent, AuditSearchTerm
from flowadmin.catalog.selectors import ID_PREFIX_MIN
from flowadmin.documents import DiffLine, line_diff, pretty_json

PAGE_SIZE = 50
EXPORT_CHUNK_SIZE = 2000
MAX_SEQ = 2**63 - 1  # the largest number a 64-bit column holds
LIST_DEFERRED = ("before", "after", "patch", "http", "search_text")
# A piece of an id (hex digits and hyphens, a digit among them): never a person's name.
ID_PART = re.compile(r"(?=.*[0-9])[0-9a-f-]+")


@dataclass(frozen=True)
class AuditFilters:
    sandbox: str = ""
    spec_id: str = ""
    actor: str = ""
    action: str = ""
    outcome: str = ""
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive
    q: str = ""
    change_request_id: int | None = None


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    newer: int | None  # cursor for ?after=: the page before this one, if any
    older: int | None  # cursor for ?before=: the page after this one, if any


@dataclass(frozen=True)
class AuditEventDetail:
    event: AuditEvent
    diff: list[DiffLine]
    patch_json: str
    previous_seq: int | None
    next_seq: int | None


def audit_event_list(*, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Events matching the filters, newest first. Every filter has an index leading with its column."""
    events = AuditEvent.objects.all()
    exact = {
        "sandbox": filters.sandbox,
        "action": filters.action,
        "outcome": filters.outcome,
    }
    events = events.filter(**{column: value for column, value in exact.items() if value})
    if filters.spec_id:
        events = events.filter(_spec_id_q(filters.spec_id))
    if filters.actor:
        # The usernames first (the user table is small): then one range of the username index each.
        usernames = {filters.actor, *users_named(filters.actor)}
        events = events.filter(actor_username__in=sorted(usernames))
    if filters.change_request_id is not None:
        events = events.filter(change_request_id=filters.change_request_id)
    if filters.since is not None:
        events = events.filter(at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(at__lt=filters.until)
    # search_text is stored lower-cased, so a plain (trigram-indexable) LIKE is case-insensitive.
    # An id is looked up in the exact-value index instead: the same events, found in one index scan.
    # A short id as pages show it ("04e0fcbb…") is searched without its ellipsis.
    for term in filters.q.lower().replace("…", " ").split():
        if SEARCH_TERM.fullmatch(term):
            events = events.filter(search_terms__term=term)
        elif is_id_start(term):
            whole = _only_id_starting(term)
            if whole:
                events = events.filter(search_terms__term=whole)
            else:
                events = events.filter(seq__in=_events_holding_ids_starting(term))
        elif ID_PART.fullmatch(term):
            events = events.filter(search_text__contains=term)
        else:
            # The search text holds the username already: people are added only when their full name
            # holds the word (looked up first in the small user table, so most words stay one LIKE).
            named = sorted(users_named(term, by_username=False))
            words = Q(search_text__contains=term)
            events = events.filter(words | Q(actor_username__in=named) if named else words)
    return events.order_by("-seq")


def users_named(text: str, *, by_username: bool = True) -> QuerySet[str]:
    """Usernames of the users ``text`` names: any part of their full name, or the start of their
    username (``by_username``; without it, users whose username holds ``text`` are left out), any case."""
    users = get_user_model().objects.annotate(full_name=Concat("first_name", Value(" "), "last_name"))
    if by_username:
        users = users.filter(Q(username__istartswith=text) | Q(full_name__icontains=text))
    else:
        users = users.filter(full_name__icontains=text).exclude(username__icontains=text)
    return users.values_list("username", flat=True)


def _spec_id_q(spec_id: str) -> Q:
    """A whole flow spec id, or the start of one (8 characters or more, as the form requires)."""
    spec_id = spec_id.strip().rstrip("…")
    lowered = spec_id.lower()
    if SEARCH_TERM.fullmatch(lowered):
        return Q(spec_id__in={spec_id, lowered})
    if is_id_start(lowered):
        whole = _only_id_starting(lowered)
        if whole:  # the one id that starts so: the spec_id index, as for a whole id
            return Q(spec_id=whole)
        # through the id index: the events holding such an id, then whose flow spec it is
        return Q(seq__in=_events_holding_ids_starting(lowered), spec_id__istartswith=spec_id)
    return Q(spec_id__istartswith=spec_id)


UUID_SHAPE = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
HEX = frozenset("0123456789abcdef")


def is_id_start(text: str) -> bool:
    """``text`` (lower case) is the first 8 characters or more of a UUID, but not a whole one."""
    if not ID_PREFIX_MIN <= len(text) < len(UUID_SHAPE):
        return False
    return all(char == "-" if shape == "-" else char in HEX for char, shape in zip(text, UUID_SHAPE, strict=False))


def _only_id_starting(prefix: str) -> str:
    """The id starting with ``prefix`` when the log holds exactly one (8 characters nearly always name one),
    else "": two reads of one end of the id index each, so the events can then come in order from it."""
    ids = AuditSearchTerm.objects.filter(term__gte=prefix, term__lt=prefix + "g").values_list("term", flat=True)
    first = ids.order_by("term").first()
    if first is None or first != ids.order_by("-term").first():
        return ""
    return first


def _events_holding_ids_starting(prefix: str) -> QuerySet:
    """The events whose search text holds an id starting with ``prefix``: a range of the id index.

    Ids are lower-case hex and hyphens, so every id starting with ``prefix`` sorts between it and
    ``prefix + "g"`` (under any collation: hyphens sit where every such id has one)."""
    return AuditSearchTerm.objects.filter(term__gte=prefix, term__lt=prefix + "g").values("event_id")


def audit_event_page(
    *,
    filters: AuditFilters,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
    with_documents: bool = True,
) -> AuditPage:
    """One keyset page, newest first: the `size` events below `before`, or just above `after`.

    Never OFFSET, never COUNT: one query for the page (plus one row to know if there is more) and
    at most one EXISTS for the other direction.
    """
    events = audit_event_list(filters=filters)
    if not with_documents:
        events = events.defer(*LIST_DEFERRED)
    if after is not None:
        rows = list(events.filter(seq__gt=after).order_by("seq")[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        more_older = bool(rows) and events.filter(seq__lt=rows[-1].seq).exists()
    else:
        events_page = events.filter(seq__lt=before) if before is not None else events
        rows = list(events_page[: size + 1])
        more_older = len(rows) > size
        rows = rows[:size]
        more_newer = before is not None and bool(rows) and events.filter(seq__gt=rows[0].seq).exists()
    return AuditPage(
        events=rows,
        newer=rows[0].seq if rows and more_newer else None,
        older=rows[-1].seq if rows and more_older else None,
    )


def audit_event_export(*, filters: AuditFilters, columns: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """`columns` of every matching event, oldest first, fetched in chunks: constant memory at any size."""
    events = audit_event_list(filters=filters).order_by("seq").values(*columns)
    return events.iterator(chunk_size=EXPORT_CHUNK_SIZE)


def audit_checkpoint_latest_number() -> int | None:
    return AuditCheckpoint.objects.order_by("-number").values_list("number", flat=True).first()


def audit_checkpoint_records(*, through_number: int, from_seq: int = 0) -> Iterator[dict[str, Any]]:
    """Signed records of the checkpoints up to `through_number` that end at `from_seq` or later, in order."""
    checkpoints = AuditCheckpoint.objects.filter(number__lte=through_number, last_seq__gte=from_seq).order_by("number")
    rows = checkpoints.iterator(chunk_size=EXPORT_CHUNK_SIZE)
    try:
        for checkpoint in rows:
            yield checkpoint_record(checkpoint)
    finally:
        rows.close()


def audit_event_detail(*, seq: int) -> AuditEventDetail | None:
    if not 1 <= seq <= MAX_SEQ:
        return None
    event = AuditEvent.objects.select_related("actor").filter(seq=seq).first()
    if event is None:
        return None
    previous_seq = AuditEvent.objects.filter(seq__lt=seq).order_by("-seq").values_list("seq", flat=True).first()
    next_seq = AuditEvent.objects.filter(seq__gt=seq).order_by("seq").values_list("seq", flat=True).first()
    has_documents = event.before is not None or event.after is not None
    return AuditEventDetail(
        event=event,
        diff=line_diff(event.before, event.after) if has_documents else [],
        patch_json=pretty_json(event.patch) if event.patch is not None else "",
        previous_seq=previous_seq,
        next_seq=next_seq,
    )
