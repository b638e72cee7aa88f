"""The single sign-on pages: start (off to the provider), callback (back from it), "no role", logout URL.

A refused sign-in always ends on the login page with a message that says what happened, and signed
out: the session is flushed, whatever it held before.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from flowadmin.accounts.role_map import ROLE_NAMES, groups_for_role
from flowadmin.accounts.sso.backend import ID_TOKEN_ATTRIBUTE
from flowadmin.accounts.sso.discovery import provider_metadata
from flowadmin.accounts.sso.errors import ACCOUNT_DISABLED, PROVIDER_SAID, STALE, NoRole, SignInRefused

log = logging.getLogger(__name__)

BACKEND = "flowadmin.accounts.sso.backend.SingleSignOnBackend"
ERROR_KEY = "sso_error"  # the message the login page shows once
NO_ROLE_KEY = "sso_no_role"
ID_TOKEN_KEY = "sso_id_token"  # noqa: S105 - a session key, not a secret


def sso_enabled() -> bool:
    return bool(settings.OIDC_ISSUER)


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME or "your identity provider"


def sign_in_error_pop(request) -> str:
    """The message of the last refused sign-in, once (the login page shows it)."""
    return request.session.pop(ERROR_KEY, "") if hasattr(request, "session") else ""


def _refused(request, error: SignInRefused):
    """Signed out, back to the login page with the reason."""
    log.info("SSO sign-in refused: %s", error.log_detail or error.message[:80])
    auth.logout(request)
    request.session[ERROR_KEY] = error.text(provider_name())
    return redirect("login")


@method_decorator([login_not_required, never_cache], name="dispatch")
class SignInStart(OIDCAuthenticationRequestView):
    """Sends the browser to the provider: state, nonce and the PKCE challenge are kept in the session."""

    def __init__(self, *args, **kwargs):
        View.__init__(self, *args, **kwargs)  # the library reads its endpoint here; discovery does, in get()

    def get(self, request):
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_metadata().authorization_endpoint
        except SignInRefused as error:
            return _refused(request, error)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


@method_decorator([login_not_required, never_cache], name="dispatch")
class SignInCallback(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: checks the state, then the backend does the rest."""

    def get(self, request):
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        error, state = request.GET.get("error"), request.GET.get("state")
        if error:
            detail = request.GET.get("error_description") or error
            return _refused(request, SignInRefused(PROVIDER_SAID, log_detail=error, detail=detail[:300]))
        if not request.GET.get("code") or state not in (request.session.get("oidc_states") or {}):
            return _refused(request, SignInRefused(STALE, log_detail="unknown or missing state"))
        try:
            return super().get(request)
        except SignInRefused as refused:
            return _refused(request, refused)
        except NoRole as no_role:
            auth.logout(request)
            request.session[NO_ROLE_KEY] = {"username": no_role.username, "groups": no_role.groups[:50]}
            return redirect("sso_no_role")

    def login_success(self):
        id_token = getattr(self.request, ID_TOKEN_ATTRIBUTE, "")
        response = super().login_success()  # auth.login: a new session key
        self.request.session[ID_TOKEN_KEY] = id_token
        self.request.session.set_expiry(int(settings.OIDC_SESSION_HOURS * 3600))
        return response

    def login_failure(self):
        # Reached only when the backend gave an inactive user or nobody without saying why.
        return _refused(self.request, SignInRefused(ACCOUNT_DISABLED, log_detail="no active user"))


@login_not_required
@never_cache
@require_GET
def no_role(request):
    """Signed in at the provider, but no group there gives a role here: who to ask, and for what."""
    details = request.session.get(NO_ROLE_KEY)
    if not sso_enabled() or not details:
        return redirect("login")
    role_map = settings.OIDC_ROLE_MAP
    roles = [(role, groups_for_role(role_map, role)) for role in ROLE_NAMES]
    context = {"provider_name": provider_name(), "roles": roles, **details}
    return render(request, "accounts/no_role.html", context)


def provider_logout_url(request) -> str:
    """The provider's end-session URL for a session that single sign-on made, else "" (a local logout).

    Read before the session ends: it needs the ID token kept at sign-in (``id_token_hint``).
    """
    if not sso_enabled() or request.session.get(BACKEND_SESSION_KEY) != BACKEND:
        return ""
    try:
        endpoint = provider_metadata().end_session_endpoint
    except SignInRefused:
        return ""  # the provider is unreachable: at least the flowadmin session ends
    if not endpoint:
        return ""
    if _origin(endpoint) != _origin(settings.OIDC_ISSUER):
        # The policy's form-action allows the issuer's origin only: the browser would block the redirect.
        log.warning("SSO logout stays local: end_session_endpoint %s is not on the issuer's host", endpoint)
        return ""
    params = {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
    }
    id_token = request.session.get(ID_TOKEN_KEY)
    if id_token:
        params["id_token_hint"] = id_token
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc
