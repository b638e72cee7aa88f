"""Give every request a correlation id, echoed back in `X-Correlation-ID`."""

from flowadmin.audit.correlation import correlation

REQUEST_HEADER = "X-Request-ID"
RESPONSE_HEADER = "X-Correlation-ID"


class CorrelationIdMiddleware:
    """Accept a sane incoming `X-Request-ID` (e.g. from the proxy), otherwise generate a UUID4."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with correlation(request.headers.get(REQUEST_HEADER)) as cid:
            request.correlation_id = cid
            response = self.get_response(request)
        response[RESPONSE_HEADER] = cid
        return response
