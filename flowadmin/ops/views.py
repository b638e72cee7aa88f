"""/metrics: Prometheus' text format, for the addresses in METRICS_ALLOWED_IPS or a bearer METRICS_TOKEN.

Exempt from the login redirect (a scraper has no session) and from the HTTPS redirect (scrapers call
the server directly); everyone else gets 403. The client address is the real one behind a trusted
proxy (`flowadmin.ops.proxy`), so a proxy on the same host does not make the endpoint public.
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from flowadmin.ops.metrics import registry
from flowadmin.ops.proxy import address_in, client_address

FORBIDDEN = "Metrics are served to the addresses in METRICS_ALLOWED_IPS, or with Authorization: Bearer METRICS_TOKEN.\n"


@lru_cache(maxsize=1)
def _registry():
    return registry()


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    return address_in(client_address(request), settings.METRICS_ALLOWED_IPS)


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse(FORBIDDEN, status=403, content_type="text/plain; charset=utf-8")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
