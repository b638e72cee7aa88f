"""Connection spec ids as flowadmin reads and compares them: the one place that says what an id is.

id_key(" 04E0FCBB-…  ")   -> "04e0fcbb-…"   what two ids are compared by (stored ids, any text)
normalise("04E0FCBB-…")   -> "04e0fcbb-…"   a typed id, or "" when it is not a UUID
"""

from __future__ import annotations

import re
from collections.abc import Iterable

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def id_key(value) -> str:
    """An id as ids are compared: surrounding whitespace trimmed, lower case; "" for what is not text."""
    return value.strip().lower() if isinstance(value, str) else ""


def id_keys(values: Iterable) -> list[str]:
    """`id_key` of each text in ``values``, in order (what is not text is left out)."""
    return [value.strip().lower() for value in values if isinstance(value, str)]


def normalise(text: str) -> str:
    """A typed id: surrounding whitespace trimmed, lower case; "" when that is not a UUID."""
    candidate = text.strip()
    if not candidate.isascii():
        return ""
    candidate = candidate.lower()
    return candidate if UUID.fullmatch(candidate) else ""
