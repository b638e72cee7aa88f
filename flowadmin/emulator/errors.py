"""The error answers of the emulated services, in the shapes Adobe uses.

- Flow Service: ``{"type": ".../FLOW-1101-404", "title", "status", "report": {...}, "errorMessage"}``
- the API gateway in front of it: ``{"error_code": "401013", "message": "..."}``
- IMS: ``{"error": "invalid_client", "error_description": "..."}``
- a load balancer's HTML page (only ever injected by a fault rule)
"""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpResponse, JsonResponse
from django.utils import timezone

ERROR_TYPE_BASE = "https://ns.adobe.com/aep/errors/"

# Gateway (checked first, in this order).
TOKEN_MISSING = ("403010", "Oauth token is missing.")
TOKEN_INVALID = ("401013", "Oauth token is not valid")
API_KEY_MISSING = ("403000", "Api Key is required")
API_KEY_INVALID = ("403003", "Api Key is invalid")
TOO_MANY_REQUESTS = ("429050", "Too many requests")

# Flow Service: (code, title). Detailed messages are written where the error is raised.
SANDBOX_HEADER_MISSING = ("2105-400", "Sandbox header is missing")
ORG_INVALID = ("2000-401", "Unauthorized")
SANDBOX_UNKNOWN = ("2106-400", "Invalid sandbox")
NOT_FOUND = ("1101-404", "Resource not found")
INVALID_REQUEST = ("1100-400", "Invalid request")
INVALID_ID = ("1413-400", "Invalid id")
EMPTY_BODY = ("1405-400", "Request body is empty")
UNSUPPORTED_MEDIA_TYPE = ("1406-415", "Unsupported media type")
METHOD_NOT_ALLOWED = ("1407-405", "Method not allowed")
VERSION_MISMATCH = ("1404-412", "Version not matching")

SANDBOX_HEADER_MISSING_DETAIL = (
    "The header 'x-sandbox-name' is missing in the request. Please provide the header and try again."
)
EMPTY_BODY_DETAIL = "The request body is empty. Please provide a request body and try again."
VERSION_MISMATCH_DETAIL = "The supplied version does not match the current version."
NOT_FOUND_DETAIL = (
    "The requested resource is not found. Error from flow provider: Resource with given id does not exist."
)

# What an injected `respond` fault answers for a given status, per shape.
FLOW_FAULTS = {
    400: ("1100-400", "Invalid request", "The request could not be processed."),
    401: ("2000-401", "Unauthorized", "The access token is not valid for this request."),
    403: ("2118-403", "Forbidden", "The caller is missing a permission required for this request."),
    404: ("1101-404", "Resource not found", NOT_FOUND_DETAIL),
    412: (*VERSION_MISMATCH, VERSION_MISMATCH_DETAIL),
    500: (
        "1102-500",
        "Internal Error",
        "An internal error has occurred. Please try again. If the problem persists, please contact customer support.",
    ),
    503: (
        "1103-503",
        "Service Unavailable",
        "The service is temporarily unavailable. Please try again. If the problem persists, please contact "
        "customer support.",
    ),
    504: (
        "1104-504",
        "Gateway Timeout",
        "A gateway timeout has occurred. Please try again. If the problem persists, please contact customer support.",
    ),
}
GATEWAY_FAULTS = {
    401: TOKEN_INVALID,
    403: API_KEY_INVALID,
    429: TOO_MANY_REQUESTS,
}
IMS_FAULTS = {
    400: "invalid_request",
    401: "invalid_client",
    429: "temporarily_unavailable",
    503: "temporarily_unavailable",
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _timestamp() -> str:
    return timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def flow_error(
    *, status: int, code: str, title: str, detail: str, request_id: str, family: str = "FLOW"
) -> JsonResponse:
    """A Flow Service error answer; `code` is like ``"1101-404"``."""
    body = {
        "type": f"{ERROR_TYPE_BASE}{family}-{code}",
        "title": title,
        "status": status,
        "report": {"detailed-message": detail, "request-id": request_id, "timestamp": _timestamp()},
        "errorMessage": detail,
    }
    return JsonResponse(body, status=status)


def flow_error_for(error: tuple[str, str], *, status: int, detail: str, request_id: str) -> JsonResponse:
    code, title = error
    return flow_error(status=status, code=code, title=title, detail=detail, request_id=request_id)


def gateway_error(error: tuple[str, str], *, status: int) -> JsonResponse:
    code, message = error
    return JsonResponse({"error_code": code, "message": message}, status=status)


def ims_error(*, error: str, description: str, status: int) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


def html_error(*, status: int) -> HttpResponse:
    line = f"{status} {_phrase(status)}"
    page = (
        f"<html>\r\n<head><title>{line}</title></head>\r\n"
        f"<body>\r\n<center><h1>{line}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return HttpResponse(page, status=status, content_type="text/html")


def fault_error(*, status: int, shape: str, request_id: str) -> HttpResponse:
    """The answer of a `respond` fault rule."""
    if shape == "html":
        return html_error(status=status)
    if shape == "gateway":
        return gateway_error(GATEWAY_FAULTS.get(status, (f"{status}000", _phrase(status))), status=status)
    if shape == "ims":
        return ims_error(
            error=IMS_FAULTS.get(status, "server_error"),
            description=f"Injected fault: {_phrase(status)}",
            status=status,
        )
    code, title, detail = FLOW_FAULTS.get(
        status, (f"1000-{status}", _phrase(status), f"Injected fault: {_phrase(status)}")
    )
    return flow_error(status=status, code=code, title=title, detail=detail, request_id=request_id)
