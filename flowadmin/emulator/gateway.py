"""What sits in front of every emulated endpoint, as Adobe's API gateway does.

For each call: a request id (``x-request-id`` header, and in Flow Service error bodies), the fault
rules, the gateway's checks (token, api key) and then the Flow Service's own (sandbox header,
organization, sandbox), and a row in the request log.

Dropping a connection: the view shuts the client's socket down (both directions) before anything
is written, so the client sees the connection closed without an answer (`requests` raises
`ConnectionError`). The socket is found through the WSGI environ: gunicorn puts it in
``gunicorn.socket``; Django's runserver and LiveServerThread (wsgiref) expose it through
``wsgi.input`` (a LimitedStream over the socket file). The server's later write fails with a broken
pipe, which both servers treat as a client that went away. Without a socket (Django's test
client), `ConnectionDropped` is raised instead.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import re
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from flowadmin.emulator import errors, selectors, services
from flowadmin.emulator.models import FaultRule, RemoteSandbox

logger = logging.getLogger(__name__)

Kind = Literal["public", "flowservice", "sandboxes", "control", "open"]
LIST_PATH = re.compile(r"/(flowSpecs|connectionSpecs)/?$")  # the answers a next_link rule rewrites
MALFORMED_BODY = b'{"items": [{"id": "e77fde5a-22a8-11ed-861d-0242ac120002", "name": "GenericStr'

ORG_MISSING_DETAIL = "The header 'x-gw-ims-org-id' is missing in the request. Please provide the header and try again."
ORG_INVALID_DETAIL = "The organization {org} is not the organization of the access token."
SANDBOX_UNKNOWN_DETAIL = "The sandbox '{name}' does not exist or is not active in organization {org}."


class ConnectionDropped(ConnectionAbortedError):
    """Raised to drop a call when no client socket can be reached (Django's test client)."""


@dataclass
class Call:
    """What the gateway learnt about a call; views find it as ``request.emulator``."""

    request_id: str
    path: str
    sandbox_name: str
    client_id: str = ""
    sandbox: RemoteSandbox | None = None


def relative_path(request: HttpRequest) -> str:
    """The request path after the emulator's mount point (``/emulator``)."""
    prefix = reverse("emulator:index").rstrip("/")
    return request.path[len(prefix) :] if request.path.startswith(prefix) else request.path


def _inner_stream(stream: object) -> object | None:
    """One step from a wrapping stream towards the socket under it."""
    for name in ("_sock", "raw"):  # SocketIO._sock, BufferedReader.raw
        if hasattr(stream, name):
            return getattr(stream, name)
    read = getattr(stream, "_read", None)  # django's LimitedStream keeps the wrapped stream's bound read()
    return getattr(read, "__self__", None)


def _find_socket(request: HttpRequest) -> socket.socket | None:
    candidate = request.META.get("gunicorn.socket")
    if isinstance(candidate, socket.socket):
        return candidate
    # wsgiref (runserver, LiveServerThread): LimitedStream -> BufferedReader -> SocketIO -> socket
    stream: object | None = request.META.get("wsgi.input")
    for _ in range(6):
        if stream is None or isinstance(stream, socket.socket):
            return stream
        stream = _inner_stream(stream)
    return None


def drop_connection(request: HttpRequest) -> None:
    """Close the client's connection without an answer."""
    sock = _find_socket(request)
    if sock is None:
        raise ConnectionDropped("connection dropped by an emulator fault rule")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        logger.debug("the client socket was already closed")


def _malformed() -> HttpResponse:
    return HttpResponse(MALFORMED_BODY, status=200, content_type="application/json")


def _gateway_checks(request: HttpRequest, call: Call) -> HttpResponse | None:
    authorization = request.headers.get("Authorization", "").strip()
    if not authorization:
        return errors.gateway_error(errors.TOKEN_MISSING, status=403)
    scheme, _, token = authorization.partition(" ")
    claims = selectors.token_claims(token=token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if claims is None:
        return errors.gateway_error(errors.TOKEN_INVALID, status=401)
    api_key = request.headers.get("x-api-key", "").strip()
    if not api_key:
        return errors.gateway_error(errors.API_KEY_MISSING, status=403)
    if not hmac.compare_digest(api_key.encode(), claims.client_id.encode()):
        return errors.gateway_error(errors.API_KEY_INVALID, status=403)
    call.client_id = claims.client_id
    return None


def _org_check(request: HttpRequest, call: Call) -> HttpResponse | None:
    org = request.headers.get("x-gw-ims-org-id", "").strip()
    if org and hmac.compare_digest(org.encode(), settings.ADOBE_ORG_ID.encode()):
        return None
    detail = ORG_INVALID_DETAIL.format(org=org) if org else ORG_MISSING_DETAIL
    return errors.flow_error_for(errors.ORG_INVALID, status=401, detail=detail, request_id=call.request_id)


def _sandbox_checks(request: HttpRequest, call: Call) -> HttpResponse | None:
    if not call.sandbox_name:
        return errors.flow_error_for(
            errors.SANDBOX_HEADER_MISSING,
            status=400,
            detail=errors.SANDBOX_HEADER_MISSING_DETAIL,
            request_id=call.request_id,
        )
    denied = _org_check(request, call)
    if denied:
        return denied
    sandbox = selectors.sandbox_get(name=call.sandbox_name)
    if sandbox is None or not sandbox.is_active:
        detail = SANDBOX_UNKNOWN_DETAIL.format(name=call.sandbox_name, org=settings.ADOBE_ORG_ID)
        return errors.flow_error_for(errors.SANDBOX_UNKNOWN, status=400, detail=detail, request_id=call.request_id)
    call.sandbox = sandbox
    return None


def _checks(request: HttpRequest, call: Call, kind: Kind) -> HttpResponse | None:
    if kind in ("public", "open"):
        return None
    denied = _gateway_checks(request, call)
    if denied:
        return denied
    if kind == "flowservice":
        return _sandbox_checks(request, call)
    return _org_check(request, call)


def _apply_fault(rule: FaultRule, request: HttpRequest, call: Call) -> HttpResponse | None:
    """The answer a fault rule imposes, or None to carry on (delay, apply_then_drop)."""
    if rule.action == FaultRule.Action.DELAY:
        services.delays.wait(rule.delay_ms / 1000)
        return None
    if rule.action in (FaultRule.Action.APPLY_THEN_DROP, FaultRule.Action.NEXT_LINK):
        return None  # handled normally; the wrapper drops the connection / rewrites the answer afterwards
    if rule.action == FaultRule.Action.MALFORMED:
        return _malformed()
    shape = rule.shape or ("ims" if call.path.startswith("/ims/") else "flow")
    response = errors.fault_error(status=rule.status or 503, shape=shape, request_id=call.request_id)
    if rule.retry_after is not None:
        response["Retry-After"] = str(rule.retry_after)
    return response


def _with_next_link(response: HttpResponse, href: str) -> HttpResponse:
    """A successful list answer (``{"items": [...]}``) with ``_links.next.href`` set to ``href``; else as is."""
    if response.status_code != 200 or not response.get("Content-Type", "").startswith("application/json"):
        return response
    try:
        body = json.loads(response.content)
    except ValueError:
        return response
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return response
    body["_links"] = {"next": {"href": href}}
    return HttpResponse(json.dumps(body), content_type="application/json")


def _record(request: HttpRequest, call: Call, *, status: int | None, fault: str) -> None:
    services.request_log_record(
        method=request.method,
        path=call.path,
        sandbox=call.sandbox_name,
        status=status,
        request_id=call.request_id,
        fault=fault,
    )


def endpoint(kind: Kind) -> Callable:
    """Wrap an emulator view: request id, faults, checks and the request log.

    `kind`: "public" (the IMS token endpoint: faults and log, no checks), "flowservice" (gateway + sandbox
    checks), "sandboxes" (gateway + organization checks), "control" (`_log`/`_faults`: checks, but
    neither faults nor log), "open" (no checks, no faults, no log).
    """
    observed = kind in ("public", "flowservice", "sandboxes")

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            call = Call(
                request_id=str(uuid.uuid4()),
                path=relative_path(request),
                sandbox_name=request.headers.get("x-sandbox-name", "").strip().lower(),
            )
            request.emulator = call
            if observed:
                # The whole request is in before the gateway does anything with it, as at Adobe's gateway:
                # a fault (a delay, a drop) never starts while the client is still sending its body.
                request.body  # noqa: B018 - read now; Django keeps it for the view
            rule = (
                services.fault_take(method=request.method, path=call.path, sandbox=call.sandbox_name)
                if observed
                else None
            )
            fault = rule.action if rule else ""
            if fault == FaultRule.Action.DROP:
                _record(request, call, status=None, fault=fault)
                drop_connection(request)
                return HttpResponse(status=204)  # written to a closed socket: never reaches the client

            response = _apply_fault(rule, request, call) if rule else None
            if response is None:
                response = _checks(request, call, kind)
            if response is None:
                response = view(request, *args, **kwargs)
                if fault == FaultRule.Action.NEXT_LINK and LIST_PATH.search(call.path):
                    response = _with_next_link(response, rule.href)
            response["x-request-id"] = call.request_id
            if observed:
                _record(request, call, status=response.status_code, fault=fault)
            if fault == FaultRule.Action.APPLY_THEN_DROP:
                drop_connection(request)
            return response

        return wrapper

    return decorator
