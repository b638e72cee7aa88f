"""Project-level views: the home page, error pages and the health check."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from flowadmin.accounts.middleware import login_url_back_to


@require_GET
def home(request):
    return render(request, "home.html")


def bad_request(request, exception=None):
    """400 (a body over the upload limit, too many fields, a malformed request): the page says what to do.

    An htmx request (a live preview) gets the message alone, put inside the element that asked
    (``HX-Reswap: innerHTML``: the element keeps its triggers, so the next keystroke tries again);
    base.html lets htmx swap 400 answers.
    """
    limit_kb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024 if settings.DATA_UPLOAD_MAX_MEMORY_SIZE else 0
    if getattr(request, "htmx", False):
        response = render(request, "400.html#message", {"limit_kb": limit_kb}, status=400)
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "400.html", {"limit_kb": limit_kb}, status=400)


@login_not_required
def csrf_failure(request, reason: str = ""):
    """403 when a form's security token is missing or stale (settings ``CSRF_FAILURE_VIEW``): most
    often a page left open across a log-out or a server restart. Says how to get on; keeps nothing.

    An htmx request (a live preview, a check) is not answered with a page to swap into a part of one:
    signed out, the whole page goes to the login and back; signed in (a token renewed elsewhere), the
    page is loaded again. Either way the forms' drafts bring back what was typed."""
    response = render(request, "403_csrf.html", status=403)
    if request.headers.get("HX-Request") == "true":
        # htmx acts on these headers whatever the status, so the refusal stays a 403.
        if request.user.is_authenticated:
            response["HX-Refresh"] = "true"
        else:
            response["HX-Redirect"] = login_url_back_to(request)
    return response


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Liveness and readiness: 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
