"""The emulated IMS, Flow Service and Sandbox API endpoints, plus the `_log` and `_faults` controls.

Every view is reached through `gateway.endpoint`, which has already run the checks Adobe's gateway
runs; `request.emulator` (a `gateway.Call`) carries the request id, the caller's client id and the
sandbox.
"""

from __future__ import annotations

import hmac
from base64 import b64decode
from binascii import Error as Base64Error
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from flowadmin.emulator import answers, errors, selectors, services
from flowadmin.emulator.answers import invalid, json_body, not_allowed
from flowadmin.emulator.gateway import endpoint
from flowadmin.emulator.models import RemoteSandbox
from flowadmin.emulator.tokens import TOKEN_LIFETIME_S
from flowadmin.emulator.validation import CREATE_REQUIRED, connection_spec_body_errors, flowspec_body_errors, is_uuid

INVALID_PAGING = "The limit and offset parameters must be integers (limit 1 to 100, offset 0 or more)."
SANDBOX_PAGE_MAX = 100


# --- /emulator/ ------------------------------------------------------------------------------
@csrf_exempt
@login_not_required
@endpoint("open")
def index(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri(reverse("emulator:index")).rstrip("/")
    return JsonResponse(
        {
            "service": "flowadmin emulator of Adobe IMS, Flow Service and the Sandbox API",
            "ims": f"{base}/ims/token/v3",
            "flowservice": f"{base}/data/foundation/flowservice",
            "sandboxManagement": f"{base}/data/foundation/sandbox-management",
            "log": f"{base}/_log",
            "faults": f"{base}/_faults",
            "sandboxes": [sandbox.name for sandbox in selectors.sandbox_list(active_only=True)],
        }
    )


# --- IMS -------------------------------------------------------------------------------------
def _client_credentials(request: HttpRequest) -> tuple[str, str]:
    client_id = request.POST.get("client_id") or request.GET.get("client_id") or ""
    client_secret = request.POST.get("client_secret") or ""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:  # client_secret_basic
        try:
            basic_id, _, basic_secret = b64decode(encoded).decode().partition(":")
        except (Base64Error, UnicodeDecodeError):
            basic_id, basic_secret = "", ""
        client_id, client_secret = client_id or basic_id, client_secret or basic_secret
    return client_id.strip(), client_secret


@csrf_exempt
@login_not_required
@endpoint("public")
def ims_token(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return errors.ims_error(error="invalid_request", description="Use POST.", status=405)
    grant_type = request.POST.get("grant_type", "")
    if grant_type != "client_credentials":
        description = f"unsupported grant_type: {grant_type}" if grant_type else "grant_type parameter is missing"
        return errors.ims_error(error="unsupported_grant_type", description=description, status=400)
    client_id, client_secret = _client_credentials(request)
    expected_id, expected_secret = settings.ADOBE_CLIENT_ID, settings.ADOBE_CLIENT_SECRET
    id_ok = hmac.compare_digest(client_id.encode(), expected_id.encode())
    secret_ok = hmac.compare_digest(client_secret.encode(), expected_secret.encode())
    if not (expected_id and expected_secret and id_ok and secret_ok):
        return errors.ims_error(error="invalid_client", description="invalid client_id or client_secret", status=401)
    token = services.token_issue(client_id=client_id, scope=request.POST.get("scope", ""))
    return JsonResponse({"access_token": token, "token_type": "bearer", "expires_in": TOKEN_LIFETIME_S})


# --- Flow Service ----------------------------------------------------------------------------
@csrf_exempt
@login_not_required
@endpoint("flowservice")
def flow_specs(request: HttpRequest) -> HttpResponse:
    call = request.emulator
    if request.method == "GET":
        return answers.list_answer(request, selectors.flowspec_texts(sandbox=call.sandbox), collection="flowSpecs")
    if request.method != "POST":
        return not_allowed(request, ["GET", "POST"])
    body, error = json_body(request)
    if error:
        return error
    problems = flowspec_body_errors(body, required=CREATE_REQUIRED)
    if problems:
        return invalid(request, "; ".join(problems))
    document = services.flowspec_create(sandbox=call.sandbox, body=body, client_id=call.client_id)
    return answers.created(document, collection="flowSpecs")


@csrf_exempt
@login_not_required
@endpoint("flowservice")
def flow_spec(request: HttpRequest, spec_id: str) -> HttpResponse:
    call = request.emulator
    if request.method not in ("GET", "PUT"):
        return not_allowed(request, ["GET", "PUT"])
    if not is_uuid(spec_id):
        return answers.invalid_id(request, spec_id, "flow spec")
    if request.method == "GET":
        return answers.one_item(selectors.flowspec_document(sandbox=call.sandbox, spec_id=spec_id), request)
    body, error = json_body(request)
    if error:
        return error
    problems = flowspec_body_errors(body, path_id=spec_id)
    if problems:
        return invalid(request, "; ".join(problems))
    try:
        document = services.flowspec_replace(sandbox=call.sandbox, spec_id=spec_id, body=body, client_id=call.client_id)
    except services.DocumentNotFound:
        return answers.not_found(request)
    return JsonResponse(document)


@csrf_exempt
@login_not_required
@endpoint("flowservice")
def connection_specs(request: HttpRequest) -> HttpResponse:
    call = request.emulator
    if request.method == "GET":
        texts = selectors.connection_spec_texts(sandbox=call.sandbox)
        return answers.list_answer(request, texts, collection="connectionSpecs")
    if request.method != "POST":
        return not_allowed(request, ["GET", "POST"])
    body, error = json_body(request)
    if error:
        return error
    problems = connection_spec_body_errors(body)
    if problems:
        return invalid(request, "; ".join(problems))
    document = services.connection_spec_create(sandbox=call.sandbox, body=body, client_id=call.client_id)
    return answers.created(document, collection="connectionSpecs")


@csrf_exempt
@login_not_required
@endpoint("flowservice")
def connection_spec(request: HttpRequest, spec_id: str) -> HttpResponse:
    if request.method != "GET":
        return not_allowed(request, ["GET"])
    if not is_uuid(spec_id):
        return answers.invalid_id(request, spec_id, "connection spec")
    document = selectors.connection_spec_document(sandbox=request.emulator.sandbox, spec_id=spec_id)
    return answers.one_item(document, request)


# --- Sandbox API -----------------------------------------------------------------------------
def _sandbox_answer(request: HttpRequest, *, active_only: bool, url_name: str) -> HttpResponse:
    if request.method != "GET":
        return not_allowed(request, ["GET"])
    try:
        limit = int(request.GET.get("limit") or 50)
        offset = int(request.GET.get("offset") or 0)
    except ValueError:
        return invalid(request, INVALID_PAGING)
    if not (1 <= limit <= SANDBOX_PAGE_MAX and offset >= 0):
        return invalid(request, INVALID_PAGING)
    sandboxes = selectors.sandbox_list(active_only=active_only)
    page = sandboxes[offset : offset + limit]
    base = request.build_absolute_uri(reverse(url_name))
    links: dict = {"page": {"href": base + "?limit={limit}&offset={offset}", "templated": True}}
    if offset + limit < len(sandboxes):
        links["next"] = {"href": f"{base}?{urlencode({'limit': limit, 'offset': offset + limit})}", "templated": False}
    if offset > 0:
        links["prev"] = {
            "href": f"{base}?{urlencode({'limit': limit, 'offset': max(offset - limit, 0)})}",
            "templated": False,
        }
    return JsonResponse(
        {
            "sandboxes": [_sandbox_json(sandbox, with_id=not active_only) for sandbox in page],
            "_page": {"limit": limit, "count": len(page)},
            "_links": links,
        }
    )


def _sandbox_json(sandbox: RemoteSandbox, *, with_id: bool) -> dict:
    created = sandbox.created_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    data = {"id": str(sandbox.sandbox_id)} if with_id else {}
    data.update(
        name=sandbox.name,
        title=sandbox.title,
        state=sandbox.state,
        type=sandbox.type,
        region=sandbox.region,
        isDefault=sandbox.is_default,
        etag=1,
        createdDate=created,
        lastModifiedDate=created,
        createdBy="flowadmin-emulator",
        modifiedBy="flowadmin-emulator",
    )
    return data


@csrf_exempt
@login_not_required
@endpoint("sandboxes")
def sandboxes(request: HttpRequest) -> HttpResponse:
    """All the organization's sandboxes (admin operation), inactive ones included."""
    return _sandbox_answer(request, active_only=False, url_name="emulator:sandboxes")


@csrf_exempt
@login_not_required
@endpoint("sandboxes")
def available_sandboxes(request: HttpRequest) -> HttpResponse:
    """The sandboxes the caller may use: the active ones."""
    return _sandbox_answer(request, active_only=True, url_name="emulator:available-sandboxes")


@csrf_exempt
@login_not_required
@endpoint("public")
def unknown_path(request: HttpRequest, rest: str = "") -> HttpResponse:
    return errors.flow_error_for(
        errors.NOT_FOUND,
        status=404,
        detail=f"No emulated endpoint at {request.emulator.path}.",
        request_id=request.emulator.request_id,
    )


# --- controls --------------------------------------------------------------------------------
@csrf_exempt
@login_not_required
@endpoint("control")
def request_log(request: HttpRequest) -> HttpResponse:
    if request.method == "DELETE":
        return JsonResponse({"deleted": services.request_log_clear()})
    if request.method != "GET":
        return not_allowed(request, ["GET", "DELETE"])
    entries = selectors.request_log_list(
        method=request.GET.get("method"), sandbox=request.GET.get("sandbox"), path=request.GET.get("path")
    )
    return JsonResponse({"requests": [entry.as_api() for entry in entries]})


@csrf_exempt
@login_not_required
@endpoint("control")
def fault_rules(request: HttpRequest) -> HttpResponse:
    if request.method == "DELETE":
        return JsonResponse({"deleted": services.fault_rules_clear()})
    if request.method == "GET":
        return JsonResponse({"faults": [rule.as_api() for rule in selectors.fault_rule_list()]})
    if request.method != "POST":
        return not_allowed(request, ["GET", "POST", "DELETE"])
    body, error = json_body(request)
    if error:
        return error
    try:
        rule = services.fault_rule_add(rule=body)
    except services.FaultRuleError as problem:
        return invalid(request, str(problem))
    return JsonResponse(rule.as_api(), status=201)
