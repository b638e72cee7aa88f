"""What base.html needs on every page: the Flow Service in use and the user's roles; for anonymous
visitors, what the login page offers (django-axes renders that page too, without the login view)."""

from urllib.parse import urlsplit

from django.conf import settings

from flowadmin.accounts.roles import APPROVE_CHANGE, PROPOSE_CHANGE, VIEW_AUDIT, user_roles
from flowadmin.accounts.sso.views import provider_name, sso_enabled


def flowservice_label() -> str:
    if settings.FLOWADMIN_EMULATOR and settings.PLATFORM_URL.endswith("/emulator"):
        return "local emulator"
    return urlsplit(settings.PLATFORM_URL).hostname or settings.PLATFORM_URL


def navigation(request) -> dict:
    label = flowservice_label()
    context = {"flowservice_label": label, "flowservice_is_emulator": label == "local emulator"}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            **context,
            "sso_provider_name": provider_name() if sso_enabled() else "",
            "local_login": settings.LOCAL_LOGIN,
        }
    return {
        **context,
        "user_roles": user_roles(user),
        "can_propose": user.has_perm(PROPOSE_CHANGE),
        "can_approve": user.has_perm(APPROVE_CHANGE),
        "can_audit": user.has_perm(VIEW_AUDIT),
    }
