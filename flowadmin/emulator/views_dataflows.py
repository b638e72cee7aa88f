"""The emulated Flow Service's dataflows (`/flows`) and source connections (`/sourceConnections`).

Reached through `gateway.endpoint` like every Flow Service view (token, api key, organization,
sandbox, fault rules, request log). Lists take `property`, `orderby`, `limit`, `continuationToken`
and `count`; a create answers 201 with ``{"id", "etag"}`` and a `Location`.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from flowadmin.emulator import answers, dataflows, errors, selectors
from flowadmin.emulator.answers import invalid, json_body, not_allowed
from flowadmin.emulator.dataflow_bodies import flow_body_errors, source_connection_body_errors
from flowadmin.emulator.gateway import endpoint
from flowadmin.emulator.services import DocumentNotFound
from flowadmin.emulator.validation import is_uuid


def _create(request: HttpRequest, *, rules, service, collection: str) -> HttpResponse:
    """Validate the body, create through `service`, answer 201 ``{"id", "etag"}``."""
    call = request.emulator
    body, error = json_body(request)
    if error:
        return error
    problems = rules(body)
    if problems:
        return invalid(request, "; ".join(problems))
    try:
        document = service(sandbox=call.sandbox, body=body, client_id=call.client_id)
    except dataflows.DataflowRefused as refused:
        return invalid(request, str(refused))
    return answers.created(document, collection=collection, answer={"id": document["id"], "etag": document["etag"]})


@csrf_exempt
@login_not_required
@endpoint("flowservice")
def source_connections(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        texts = selectors.source_connection_texts(sandbox=request.emulator.sandbox)
        return answers.list_answer(request, texts, collection="sourceConnections", orderable=True)
    if request.method != "POST":
        return not_allowed(request, ["GET", "POST"])
    return _create(
        request,
        rules=source_connection_body_errors,
        service=dataflows.source_connection_create,
        collection="sourceConnections",
    )


@csrf_exempt
@login_not_required
@endpoint("flowservice")
def source_connection(request: HttpRequest, connection_id: str) -> HttpResponse:
    if request.method != "GET":
        return not_allowed(request, ["GET"])
    if not is_uuid(connection_id):
        return answers.invalid_id(request, connection_id, "source connection")
    document = selectors.source_connection_document(sandbox=request.emulator.sandbox, connection_id=connection_id)
    return answers.one_item(document, request)


@csrf_exempt
@login_not_required
@endpoint("flowservice")
def flows(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        texts = selectors.flow_texts(sandbox=request.emulator.sandbox)
        return answers.list_answer(request, texts, collection="flows", orderable=True)
    if request.method != "POST":
        return not_allowed(request, ["GET", "POST"])
    return _create(request, rules=flow_body_errors, service=dataflows.flow_create, collection="flows")


@csrf_exempt
@login_not_required
@endpoint("flowservice")
def flow(request: HttpRequest, flow_id: str) -> HttpResponse:
    if request.method != "GET":
        return not_allowed(request, ["GET"])
    if not is_uuid(flow_id):
        return answers.invalid_id(request, flow_id, "flow")
    return answers.one_item(selectors.flow_document(sandbox=request.emulator.sandbox, flow_id=flow_id), request)


@csrf_exempt
@login_not_required
@endpoint("flowservice")
def flow_action(request: HttpRequest, flow_id: str) -> HttpResponse:
    """`POST /flows/{id}/action?op=enable|disable`, `If-Match` optional; answers ``{"id", "etag"}``."""
    call = request.emulator
    if request.method != "POST":
        return not_allowed(request, ["POST"])
    if not is_uuid(flow_id):
        return answers.invalid_id(request, flow_id, "flow")
    try:
        document = dataflows.flow_state_change(
            sandbox=call.sandbox,
            flow_id=flow_id,
            op=request.GET.get("op", ""),
            if_match=request.headers.get("If-Match", ""),
            client_id=call.client_id,
        )
    except dataflows.DataflowRefused as refused:
        return invalid(request, str(refused))
    except DocumentNotFound:
        return answers.not_found(request)
    except dataflows.VersionMismatch:
        return errors.flow_error_for(
            errors.VERSION_MISMATCH, status=412, detail=errors.VERSION_MISMATCH_DETAIL, request_id=call.request_id
        )
    return JsonResponse({"id": document["id"], "etag": document["etag"]})
