"""IMS-like access tokens: JWT-shaped, HMAC-signed with a key derived from SECRET_KEY.

A token verifies on its own (like Adobe's, which the gateway checks by signature), so it keeps
working after a restart, in another server process and after tests flush the database; the
`IssuedToken` rows record what was issued and can revoke a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass

from django.utils.crypto import salted_hmac

TOKEN_LIFETIME_S = 86399
_SALT = "flowadmin.emulator.ims.access-token"
_HEADER = {"alg": "HS256", "typ": "JWT", "kid": "emulator"}


@dataclass(frozen=True)
class TokenClaims:
    jti: uuid.UUID
    client_id: str
    user_id: str
    scope: str
    created_at_ms: int
    expires_in_ms: int

    @property
    def expires_at_ms(self) -> int:
        return self.created_at_ms + self.expires_in_ms


def technical_account_id(client_id: str) -> str:
    """The user id Adobe gives a client's technical account (stable per client id)."""
    digest = hashlib.sha256(client_id.encode()).hexdigest()[:24].upper()
    return f"{digest}@techacct.adobe.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(signing_input: str) -> str:
    return _b64(salted_hmac(_SALT, signing_input, algorithm="sha256").digest())


def token_encode(claims: TokenClaims) -> str:
    payload = {
        "id": str(claims.jti),
        "type": "access_token",
        "client_id": claims.client_id,
        "user_id": claims.user_id,
        "as": "ims-na1",
        "scope": claims.scope,
        "created_at": str(claims.created_at_ms),
        "expires_in": str(claims.expires_in_ms),
    }
    signing_input = _b64(json.dumps(_HEADER).encode()) + "." + _b64(json.dumps(payload).encode())
    return signing_input + "." + _sign(signing_input)


def token_decode(token: str) -> TokenClaims | None:
    """The claims of a token this emulator signed, or None. Expiry is not checked here."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    signing_input = parts[0] + "." + parts[1]
    if not hmac.compare_digest(_sign(signing_input).encode(), parts[2].encode()):
        return None
    try:
        payload = json.loads(_unb64(parts[1]))
        return TokenClaims(
            jti=uuid.UUID(payload["id"]),
            client_id=str(payload["client_id"]),
            user_id=str(payload["user_id"]),
            scope=str(payload.get("scope", "")),
            created_at_ms=int(payload["created_at"]),
            expires_in_ms=int(payload["expires_in"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
