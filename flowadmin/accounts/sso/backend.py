"""mozilla-django-oidc's backend, completed for flowadmin: endpoints from discovery, a strictly checked
ID token, accounts found by subject, roles from the mapped groups.

The library already does the code flow with PKCE and checks the state and the nonce (its callback
view) and the ID token's signature against the provider's JWKS. This class adds what it leaves out:
the issuer, the audience and a required, unexpired ``exp`` and ``iat``; a userinfo answer for the same
subject only; and every failure as a SignInRefused that says what happened, instead of a 400 or a 500.
"""

from __future__ import annotations

import logging

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from flowadmin.accounts.sso.discovery import provider_metadata
from flowadmin.accounts.sso.errors import CODE_REFUSED, EXPIRED, UNREACHABLE, UNVERIFIED, NoRole, SignInRefused
from flowadmin.accounts.sso.services import sso_user_sync

log = logging.getLogger(__name__)

# Set on the request for the callback view, which keeps the ID token in the new session.
ID_TOKEN_ATTRIBUTE = "sso_id_token"  # noqa: S105 - an attribute name, not a secret
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


class SingleSignOnBackend(OIDCAuthenticationBackend):
    """Signs in through the provider at OIDC_ISSUER; answers nothing while it is unset.

    Only the callback view's ``authenticate(request, nonce=..., code_verifier=...)`` reaches the
    token endpoint: a ``code`` in the query string of any other login is ignored.
    """

    OIDC_RP_IDP_SIGN_KEY = None  # always the provider's JWKS

    def __init__(self, *args, **kwargs):
        # The library reads every endpoint here; Django makes a backend for each permission check,
        # so the endpoints are read from discovery only when a sign-in needs them (properties below).
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # the library's attribute names (uppercase)
        return provider_metadata().token_endpoint

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return provider_metadata().userinfo_endpoint

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return provider_metadata().jwks_uri

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return settings.OIDC_RP_CLIENT_SECRET

    @property
    def OIDC_RP_SIGN_ALGO(self) -> str:
        return settings.OIDC_RP_SIGN_ALGO

    def authenticate(self, request, **kwargs):
        if not settings.OIDC_ISSUER or request is None or "nonce" not in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except (SignInRefused, NoRole):
            raise
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else None
            refused = status is not None and 400 <= status < 500
            log.warning("SSO sign-in failed: the provider answered %s", status)
            raise SignInRefused(CODE_REFUSED if refused else UNREACHABLE, log_detail=f"HTTP {status}") from error
        except requests.RequestException as error:
            log.warning("SSO sign-in failed: the provider could not be reached: %s", type(error).__name__)
            raise SignInRefused(UNREACHABLE, log_detail=type(error).__name__) from error
        except (SuspiciousOperation, jwt.PyJWTError, KeyError, ValueError) as error:
            # A malformed answer (no id_token, a JWKS without keys); the traceback shows where.
            log.warning("SSO sign-in refused: %s", error, exc_info=True)
            raise SignInRefused(UNVERIFIED, log_detail=str(error)) from error

    def _verify_jws(self, payload, key):
        """The ID token's signature, issuer, audience and lifetime, all required."""
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=provider_metadata().issuer,
                leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as error:
            log.warning("SSO sign-in refused: the ID token has expired")
            raise SignInRefused(EXPIRED, log_detail="expired ID token") from error
        except jwt.PyJWTError as error:
            log.warning("SSO sign-in refused: the ID token did not verify: %s", error)
            raise SignInRefused(UNVERIFIED, log_detail=str(error)) from error

    def store_tokens(self, access_token, id_token):
        # Kept on the request, not in the session: the session is renewed when the user signs in.
        setattr(self.request, ID_TOKEN_ATTRIBUTE, id_token)

    def get_userinfo(self, access_token, id_token, payload):
        """The verified ID token's claims, completed by the userinfo endpoint's for the same subject."""
        if not self.OIDC_OP_USER_ENDPOINT:
            return dict(payload)
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SignInRefused(UNVERIFIED, log_detail="userinfo is about another subject")
        return {**userinfo, **payload}

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        sign_in = sso_user_sync(
            issuer=provider_metadata().issuer,
            claims=claims,
            role_map=settings.OIDC_ROLE_MAP,
            roles_claim=settings.OIDC_ROLES_CLAIM,
            username_claim=settings.OIDC_USERNAME_CLAIM,
        )
        return sign_in.user

    def get_user(self, user_id):
        """Active users only (the library's would keep a disabled user's session), and none while SSO is off."""
        if not settings.OIDC_ISSUER:
            return None
        return ModelBackend.get_user(self, user_id)
