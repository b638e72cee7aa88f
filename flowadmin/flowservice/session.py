"""The HTTP session under the Flow Service client: the environment's proxy and CA settings read once per host.

`requests` reads ``HTTP(S)_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` and ~/.netrc
again on every request when a session trusts the environment; a sync makes hundreds of requests to
one or two hosts, and that lookup was a large part of each one's CPU. This session makes the same
proxy and CA choices, from the environment as it is at a host's first request. It never reads
~/.netrc: every call carries its own ``Authorization`` header, which a .netrc entry for the host
would have replaced.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.utils import get_environ_proxies


class Session(requests.Session):
    """A `requests.Session` that looks at the environment once per scheme and host."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # no per-request lookups (and no .netrc); see merge_environment_settings
        self._environment: dict[tuple[str, str], tuple[dict[str, str], str | None]] = {}
        self._environment_lock = threading.Lock()

    def _from_environment(self, url: str) -> tuple[dict[str, str], str | None]:
        """(proxies for ``url``'s host, CA bundle) as the environment sets them; remembered per host."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        with self._environment_lock:
            found = self._environment.get(key)
        if found is None:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None
            found = (get_environ_proxies(url), bundle)
            with self._environment_lock:
                self._environment[key] = found
        return found

    def merge_environment_settings(self, url, proxies, stream, verify, cert) -> dict[str, Any]:
        """What `requests` merges with ``trust_env`` on, from the environment as it was at the host's first request."""
        env_proxies, bundle = self._from_environment(url)
        if proxies is not None:
            no_proxy = proxies.get("no_proxy")
            if no_proxy:  # a per-call exception list: looked up as requests does
                env_proxies = get_environ_proxies(url, no_proxy=no_proxy)
            for scheme, proxy in env_proxies.items():
                proxies.setdefault(scheme, proxy)
        if (verify is True or verify is None) and bundle:
            verify = bundle
        return super().merge_environment_settings(url, proxies, stream, verify, cert)
