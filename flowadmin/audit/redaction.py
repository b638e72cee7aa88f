"""Keep secrets out of the audit log: what `audit_record` does to the `http` it is given.

The Flow Service client already records exchanges without secrets; this is the defensive second
line. Keys that look like credentials are dropped wherever they appear, query parameters named like
one are removed from URLs, user:password in a URL goes, and bearer tokens inside text are masked.
"""

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_NAME = re.compile(
    r"authori[sz]ation|token|secret|passw(or)?d|pwd|key|signature|^sig$|credential|cookie|session|bearer",
    re.IGNORECASE,
)
BEARER = re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
REDACTED = "[redacted]"


def url_scrubbed(url: str) -> str:
    """The URL without secret-looking query parameters or user info."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return BEARER.sub(REDACTED, url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(name, value) for name, value in pairs if not SECRET_NAME.search(name)]
    if len(kept) == len(pairs) and "@" not in parts.netloc:
        return url
    query = urlencode(kept, safe="/:=,*") if len(kept) != len(pairs) else parts.query
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrubbed(value: Any) -> Any:
    """A copy of a JSON-like value with secrets removed (dict keys, URLs, bearer tokens)."""
    if isinstance(value, dict):
        clean = {}
        for key, item in value.items():
            if SECRET_NAME.search(str(key)):
                continue
            clean[key] = url_scrubbed(item) if str(key).lower() == "url" and isinstance(item, str) else scrubbed(item)
        return clean
    if isinstance(value, list | tuple):
        return [scrubbed(item) for item in value]
    if isinstance(value, str):
        return BEARER.sub(REDACTED, value)
    return value


def http_scrubbed(http: dict | list | None) -> dict | list | None:
    """Scrub one exchange (a dict) or several (a list of dicts); None stays None."""
    if http is None:
        return None
    if hasattr(http, "as_dict"):
        http = http.as_dict()
    if isinstance(http, list | tuple):
        return [scrubbed(item.as_dict() if hasattr(item, "as_dict") else item) for item in http]
    return scrubbed(http)
