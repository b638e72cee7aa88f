"""Adobe IMS, OAuth server-to-server: client-credentials tokens, cached and renewed before expiry."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from flowadmin.flowservice.errors import CODE_MALFORMED, TITLE_MALFORMED, FlowServiceError
from flowadmin.flowservice.transport import Transport

TOKEN_PATH = "/ims/token/v3"  # noqa: S105 (a URL path, not a secret)
# Renew this long before the token expires (at most a tenth of its lifetime for short-lived tokens).
RENEWAL_MARGIN = 300.0
# Lifetime assumed when IMS does not say (it always does: about a day).
DEFAULT_LIFETIME = 3600.0


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float


class ImsTokenProvider:
    """Hands out a valid access token; thread-safe, one token request however many threads need one."""

    def __init__(
        self,
        *,
        ims_url: str,
        client_id: str,
        client_secret: str,
        scopes: str,
        transport: Transport,
        clock: Callable[[], float] = time.monotonic,
        margin: float = RENEWAL_MARGIN,
    ) -> None:
        self.token_url = ims_url.rstrip("/") + TOKEN_PATH
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = scopes
        self._transport = transport
        self._clock = clock
        self._margin = margin
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self._recent: deque[str] = deque(maxlen=3)  # tokens handed out lately, redacted wherever seen

    def __repr__(self) -> str:
        return f"ImsTokenProvider(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def secrets(self) -> tuple[str, ...]:
        """What must never be shown: the client secret and the tokens handed out lately."""
        return (self._client_secret, *self._recent)

    def token(self) -> str:
        token = self._token
        if token is not None and self._clock() < token.renew_at:
            return token.value
        with self._lock:
            token = self._token
            if token is None or self._clock() >= token.renew_at:
                token = self._token = self._fetch()
            return token.value

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (refused with a 401) unless another thread already replaced it."""
        with self._lock:
            if self._token is not None and self._token.value == token:
                self._token = None

    def _fetch(self) -> _Token:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "scope": self.scopes,
        }
        payload, exchange = self._transport.call(
            "POST",
            self.token_url,
            headers=lambda: {"Accept": "application/json"},
            data=form,
            idempotent=True,  # asking for a token changes nothing: safe to repeat
        )
        value = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(value, str) or not value:
            raise FlowServiceError(
                status=exchange.status,
                code=CODE_MALFORMED,
                title=TITLE_MALFORMED,
                detail="The IMS answer carries no access token",
                request_id=exchange.request_id,
                exchange=exchange,
                retryable=True,
            )
        try:
            lifetime = float(payload.get("expires_in", DEFAULT_LIFETIME))
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        if lifetime > 10**7:  # some IMS versions answered in milliseconds
            lifetime /= 1000
        lifetime = max(lifetime, 0.0)
        margin = min(self._margin, lifetime / 10)
        self._recent.append(value)
        return _Token(value=value, renew_at=self._clock() + lifetime - margin)
