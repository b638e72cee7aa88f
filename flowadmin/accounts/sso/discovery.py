"""The provider's endpoints, from its OpenID Connect discovery document (``/.well-known/openid-configuration``).

Read when a sign-in or an SSO logout first needs them and kept for an hour per process; a failed
read is not kept, so the next sign-in tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings

from flowadmin.accounts.sso.errors import MISCONFIGURED, UNREACHABLE, SignInRefused

log = logging.getLogger(__name__)

DISCOVERY_PATH = "/.well-known/openid-configuration"
KEEP_SECONDS = 3600
REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""
    end_session_endpoint: str = ""


_kept: dict[str, tuple[float, ProviderMetadata]] = {}
_lock = threading.Lock()


def provider_metadata(*, issuer: str | None = None) -> ProviderMetadata:
    """The endpoints of ``issuer`` (settings.OIDC_ISSUER by default); SignInRefused when unreadable."""
    issuer = (issuer or settings.OIDC_ISSUER).rstrip("/")
    now = time.monotonic()
    with _lock:
        kept = _kept.get(issuer)
    if kept is not None and now - kept[0] < KEEP_SECONDS:
        return kept[1]
    metadata = _read(issuer)
    with _lock:
        _kept[issuer] = (now, metadata)
    return metadata


def forget() -> None:
    """Drop what was read (tests that point OIDC_ISSUER elsewhere)."""
    with _lock:
        _kept.clear()


def _read(issuer: str) -> ProviderMetadata:
    url = issuer + DISCOVERY_PATH
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        log.warning("SSO discovery failed: GET %s: %s", url, error)
        raise SignInRefused(UNREACHABLE, log_detail=f"discovery {url}: {error}") from error
    missing = [key for key in REQUIRED if not isinstance(document.get(key), str) or not document[key]]
    if missing or document["issuer"].rstrip("/") != issuer:
        detail = f"missing {missing}" if missing else f"issuer {document['issuer']!r} is not OIDC_ISSUER {issuer!r}"
        log.error("SSO discovery document at %s is unusable: %s", url, detail)
        raise SignInRefused(MISCONFIGURED, log_detail=detail)
    return ProviderMetadata(
        issuer=document["issuer"],
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=document.get("userinfo_endpoint") or "",
        end_session_endpoint=document.get("end_session_endpoint") or "",
    )
