"""Values derived from documents, kept per process under a key that names their content (a content hash).

Printing, diffing or even decoding a 1 MB document costs more than the rest of a page, and pages
show the same documents again and again (a flow spec, its versions, a request's base and proposal).
Each `Kept` is a small least-recently-used store, safe across threads; its values are shared by
every request, so they must be treated as read-only. `forget_all` empties every one: a cold start,
as the bench measures it.
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")
_ALL: list[Kept] = []
_ALSO: list[Callable[[], None]] = []  # other per-process stores to empty with them (`forget_also`)


class Kept(Generic[Value]):
    def __init__(self, size: int):
        self._size = size
        self._items: OrderedDict[Hashable, Value] = OrderedDict()
        self._lock = threading.Lock()
        _ALL.append(self)

    def get(self, key: Hashable) -> Value | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Value) -> Value:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], Value]) -> Value:
        """The value kept for ``key``, else ``make()`` (called outside the lock), kept."""
        value = self.get(key)
        return value if value is not None else self.put(key, make())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def text_digest(text: str) -> str:
    """A key naming a document's stored text (sha256: the fastest of hashlib's here)."""
    return hashlib.sha256(text.encode()).hexdigest()


def decoded(text: str):
    """``json.loads(text)`` with the cycle collector paused (for every thread; set back as it was found):
    a 1 MB document is some 100,000 new objects, which would set off collections that walk every
    object of the process, and a decoded document holds no cycle for them to find.

    The new objects then go straight to the oldest generation (`gc.freeze` then `gc.unfreeze`, which
    also set the counts back to zero): else the first allocation after the pause would walk them all."""
    paused = gc.isenabled()
    gc.disable()
    try:
        value = json.loads(text)
        gc.freeze()
        gc.unfreeze()
        return value
    finally:
        if paused:
            gc.enable()


def forget_all() -> None:
    """Empty every `Kept` of the process, and every store registered with `forget_also`."""
    for kept in _ALL:
        kept.clear()
    for forget in _ALSO:
        forget()


def forget_also(forget: Callable[[], None]) -> None:
    """Have `forget_all` call ``forget`` too: another store the process keeps derived values in."""
    _ALSO.append(forget)
