"""Give every request a correlation id, echoed back in `X-Correlation-ID` (and in `X-Request-ID`, unless
the view set its own, as the emulator does).

The id is minted server-side. An incoming `X-Request-ID` is used as the correlation id only when it
comes from the trusted proxy and the proxy is said to set it (`PROXY_REQUEST_ID`, behind a proxy,
see `flowadmin.ops.proxy`); otherwise a sane one is kept as the client request id, noted in the
audit events of the request, never used to correlate them.
"""

from django.conf import settings

from flowadmin.audit.correlation import client_request_id, correlation, correlation_id_accepted
from flowadmin.ops.proxy import via_trusted_proxy

REQUEST_HEADER = "X-Request-ID"
RESPONSE_HEADER = "X-Correlation-ID"


def proxy_request_id(request) -> str | None:
    """The trusted proxy's request id, or None (no proxy, not configured so, or not sane)."""
    if not settings.PROXY_REQUEST_ID or not via_trusted_proxy(request):
        return None
    return correlation_id_accepted(request.headers.get(REQUEST_HEADER))


class CorrelationIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        trusted = proxy_request_id(request)
        from_client = None if trusted else request.headers.get(REQUEST_HEADER)
        with correlation(trusted) as cid, client_request_id(from_client) as client_id:
            request.correlation_id = cid
            request.client_request_id = client_id
            response = self.get_response(request)
        response[RESPONSE_HEADER] = cid
        response.setdefault(REQUEST_HEADER, cid)  # the emulator's answers carry Adobe-like request ids of their own
        return response
