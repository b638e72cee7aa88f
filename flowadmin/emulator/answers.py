"""The answers every emulated Flow Service view shares: errors in Adobe's shape, bodies, lists.

Each function takes the request a `gateway.endpoint` has seen (``request.emulator`` holds its
request id), so every error names the call it answers.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse

from flowadmin.emulator import errors, filters
from flowadmin.emulator.validation import BodyError, parse_body

INVALID_ID = "The id '{value}' is not valid: a {what} id is a UUID."
UNSUPPORTED_TYPE = "Content-Type '{content_type}' is not supported: send application/json."
FLOWSERVICE_PATH = "/data/foundation/flowservice"


def not_allowed(request: HttpRequest, allowed: list[str]) -> HttpResponse:
    response = errors.flow_error_for(
        errors.METHOD_NOT_ALLOWED,
        status=405,
        detail=f"The method {request.method} is not allowed here; use {', '.join(allowed)}.",
        request_id=request.emulator.request_id,
    )
    response["Allow"] = ", ".join(allowed)
    return response


def invalid(request: HttpRequest, detail: str) -> HttpResponse:
    return errors.flow_error_for(
        errors.INVALID_REQUEST, status=400, detail=detail, request_id=request.emulator.request_id
    )


def invalid_id(request: HttpRequest, value: str, what: str) -> HttpResponse:
    detail = INVALID_ID.format(value=value, what=what)
    return errors.flow_error_for(errors.INVALID_ID, status=400, detail=detail, request_id=request.emulator.request_id)


def not_found(request: HttpRequest) -> HttpResponse:
    return errors.flow_error_for(
        errors.NOT_FOUND, status=404, detail=errors.NOT_FOUND_DETAIL, request_id=request.emulator.request_id
    )


def json_body(request: HttpRequest) -> tuple[object | None, HttpResponse | None]:
    """The parsed JSON body, or the error answer (empty body, wrong content type, not JSON)."""
    call = request.emulator
    content_type = request.content_type or ""
    if request.body.strip() == b"":
        return None, errors.flow_error_for(
            errors.EMPTY_BODY, status=400, detail=errors.EMPTY_BODY_DETAIL, request_id=call.request_id
        )
    if (
        request.headers.get("Content-Type")
        and content_type != "application/json"
        and not content_type.endswith("+json")
    ):
        return None, errors.flow_error_for(
            errors.UNSUPPORTED_MEDIA_TYPE,
            status=415,
            detail=UNSUPPORTED_TYPE.format(content_type=content_type),
            request_id=call.request_id,
        )
    try:
        return parse_body(request.body), None
    except BodyError as error:
        return None, invalid(request, str(error))


def created(document: dict, *, collection: str, answer: dict | None = None) -> JsonResponse:
    """201 with the new resource's `Location`; the answer is ``answer`` or the whole document."""
    response = JsonResponse(document if answer is None else answer, status=201)
    response["Location"] = f"{FLOWSERVICE_PATH}/{collection}/{document['id']}"
    return response


def one_item(document: dict | None, request: HttpRequest) -> HttpResponse:
    """A single resource, wrapped as Adobe wraps it: ``{"items": [document]}``; 404 when None."""
    return JsonResponse({"items": [document]}) if document else not_found(request)


def list_answer(request: HttpRequest, texts: list[str], *, collection: str, orderable: bool = False) -> HttpResponse:
    """`{"items": [...]}` filtered by `property`, paged by `limit` + `continuationToken`.

    ``texts``: the documents as stored (JSON text); each is sent as it stands, parsed only to filter
    or sort. ``orderable``: the collection also takes `orderby` and `count` (flows, source
    connections), as Adobe documents them there; `count=true` answers ``{"count": n}`` alone.
    """
    token = request.GET.get("continuationToken", "").strip()
    try:
        if token:
            query = filters.continuation_decode(token)
            limit = filters.parse_limit(request.GET.get("limit")) or query.limit
        else:
            query = filters.Continuation(
                offset=0,
                limit=0,
                properties=request.GET.getlist("property"),
                orderby=filters.parse_orderby(request.GET.get("orderby")) if orderable else "",
            )
            limit = filters.parse_limit(request.GET.get("limit"))
        counting = orderable and filters.parse_count(request.GET.get("count"))
        texts = filters.select_texts(texts, filters.parse_properties(query.properties), query.orderby)
        if counting:
            return JsonResponse({"count": len(texts)})
        page = filters.paginate(texts, offset=query.offset, limit=limit)
    except filters.QueryError as error:
        return invalid(request, str(error))
    body = '{"items": [' + ", ".join(page.items) + "]"
    if page.next_offset is not None:
        next_token = filters.continuation_encode(
            offset=page.next_offset, limit=limit, properties=query.properties, orderby=query.orderby
        )
        links = {"next": {"href": f"/{collection}?{urlencode({'continuationToken': next_token})}"}}
        body += ', "_links": ' + json.dumps(links)
    return HttpResponse(body + "}", content_type="application/json")
