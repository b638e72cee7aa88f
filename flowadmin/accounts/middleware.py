"""A signed-out htmx request (a session that expired while a page stayed open) goes to the login page as a
whole page, and comes back to the page it was made from, not to the fragment it asked for.

Without this, htmx follows LoginRequiredMiddleware's redirect and swaps the whole login page, header and
all, into the part of the page that asked (a live preview, a check), and the login's ``next`` would be
the fragment's URL. The page's forms keep their text in the browser (flowadmin.js keeps drafts), so
nothing typed is lost on the way through the login.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect


class HtmxLoginRedirectMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.headers.get("HX-Request") != "true" or response.status_code not in (301, 302):
            return response
        login = resolve_url(settings.LOGIN_URL)
        if not response.get("Location", "").startswith(login):
            return response
        return HttpResponseClientRedirect(login_url_back_to(request))


def login_url_back_to(request) -> str:
    """The login page's URL, with ``next`` the page an htmx request was made from (this site's only)."""
    page = request.headers.get("HX-Current-URL", "")
    if not url_has_allowed_host_and_scheme(page, allowed_hosts={request.get_host()}, require_https=False):
        page = ""
    parts = urlsplit(page)
    back = (parts.path + (f"?{parts.query}" if parts.query else "")) if page else "/"
    return redirect_to_login(back, resolve_url(settings.LOGIN_URL))["Location"]
