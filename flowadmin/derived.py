"""Values derived from documents, kept in two levels: by the process, then by every process of the host.

The first level is a `documents.Kept` (emptied by `documents.printed_forget`); the second the
``"documents"`` cache (`settings.CACHES`, ``DOCUMENTS_CACHE_URL``): by default files every process
of the host reads, redis or memcached when configured. Keys name content (a content hash, a digest of
a document's stored text), so a value is never stale: a changed document has other keys. The first
view anywhere computes a value; every other process reads it. Keys also name the code that derives
the values (`code_version`): a deploy never reads what an older version derived.

The shared cache failing (down, full, a value it cannot read) costs the computing, nothing else.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.utils.safestring import SafeString, mark_safe

from flowadmin import documents

ALIAS = "documents"
Value = TypeVar("Value")
log = logging.getLogger(__name__)
_ROOTS = ("flowadmin", "templates")  # the code and the markup derived values come from


class Derived(Generic[Value]):
    """Values of one kind (``name``): ``size`` kept by the process, the rest read from the shared cache."""

    def __init__(self, name: str, size: int):
        self.name = name
        self.kept: documents.Kept[Value] = documents.Kept(size)

    def get_or_make(self, key: Hashable, make: Callable[[], Value]) -> Value:
        """The value of ``key`` (a string or a tuple naming content): the process's, the shared one, or
        ``make()``'s (kept in both). ``make`` must not return None."""
        value = self.kept.get(key)
        if value is not None:
            return value
        where = shared_key(self.name, key)
        value = _read(where)
        if value is None:
            value = make()
            _write(where, value)
        return self.kept.put(key, value)


@functools.cache
def named(name: str) -> Derived:
    """The one `Derived` of ``name`` (the ``{% derived %}`` fragments: eight kept per process)."""
    return Derived(name, 8)


def shared_key(name: str, key: Hashable) -> str:
    parts = key if isinstance(key, tuple) else (key,)
    digest = hashlib.sha256("\0".join(map(str, (code_version(), *parts))).encode()).hexdigest()
    return f"{name}:{digest}"


@functools.cache
def code_version() -> str:
    """A digest of the project's Python modules and templates, read once per process."""
    digest = hashlib.sha256()
    for root in _ROOTS:
        for path in sorted(Path(settings.BASE_DIR, root).rglob("*")):
            if path.suffix in (".py", ".html") and "migrations" not in path.parts:
                digest.update(path.relative_to(settings.BASE_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


SPLICED_OVER = 64 * 1024  # characters: a fragment this large is spliced into the answer, not joined
_MARK = f"<!--fragment {secrets.token_hex(16)} "  # unguessable: no shown text can hold it


def spliced_later(request, html: SafeString) -> SafeString:
    """``html`` as it goes into a page: a large one, when the page's request passes `SpliceMiddleware`,
    as a placeholder the middleware replaces in the answer (each template level joins a few bytes,
    not a megabyte); else itself."""
    parts = getattr(request, "derived_fragments", None)
    if parts is None or len(html) < SPLICED_OVER:
        return html
    parts.append(html)
    return mark_safe(f"{_MARK}{len(parts) - 1}-->")  # noqa: S308 - a placeholder for html, escaped already


class SpliceMiddleware:
    """Puts the large fragments `spliced_later` kept out of a page into its answer, in one pass."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.derived_fragments = []
        response = self.get_response(request)
        if request.derived_fragments and not response.streaming:
            response.content = _spliced(response.content, request.derived_fragments, response.charset)
        return response


def _spliced(content: bytes, fragments: list[str], charset: str) -> bytes:
    """``content`` with each fragment's placeholder replaced by the fragment, wherever in the answer
    each one is (a fragment rendered but not shown has none)."""
    found = []
    for index, html in enumerate(fragments):
        mark = f"{_MARK}{index}-->".encode(charset)
        at = content.find(mark)
        if at >= 0:
            found.append((at, len(mark), html))
    pieces, at = [], 0
    for start, length, html in sorted(found, key=lambda item: item[0]):
        pieces += (content[at:start], html.encode(charset))
        at = start + length
    pieces.append(content[at:])
    return b"".join(pieces)


def _read(key: str):
    try:
        return caches[ALIAS].get(key)
    except Exception as problem:
        _failed("read", problem)
        return None


def _write(key: str, value) -> None:
    try:
        caches[ALIAS].set(key, value)
    except Exception as problem:
        _failed("write", problem)


_told: set[tuple[str, str]] = set()


def _failed(doing: str, problem: Exception) -> None:
    """Logged once per process and kind of failure (a cache that cannot be reached, or a directory
    that cannot be written, would otherwise be logged at every page)."""
    told = (doing, type(problem).__name__)
    if told in _told:
        return
    _told.add(told)
    log.warning(
        "documents cache (DOCUMENTS_CACHE_URL): could not %s (%s: %s); pages derive what they show anew until it can",
        doing,
        type(problem).__name__,
        problem,
    )


def _forget_local() -> None:
    """A cache in the process's own memory is a first level too: a cold start empties it."""
    try:
        cache = caches[ALIAS]
    except Exception as problem:  # a cache that cannot be made holds nothing to forget
        _failed("read", problem)
        return
    if isinstance(cache, LocMemCache):
        cache.clear()


documents.kept.forget_also(_forget_local)
