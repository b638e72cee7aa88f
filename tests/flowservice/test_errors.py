import pickle

import pytest

from flowadmin.flowservice.errors import (
    TITLE_AUTHENTICATION,
    FlowServiceError,
    OutcomeUnknownError,
    error_fields,
    text_excerpt,
)

FLOW_404 = {
    "type": "https://ns.adobe.com/aep/errors/FLOW-1101-404",
    "title": "Resource not found",
    "status": 404,
    "report": {"detailed-message": "Flow spec abc was not found", "request-id": "req-42"},
    "errorMessage": "Flow spec abc was not found",
}


def test_flow_service_errors_give_code_title_detail_and_request_id():
    assert error_fields(404, "Not Found", FLOW_404, "") == {
        "code": "FLOW-1101-404",
        "title": "Resource not found",
        "detail": "Flow spec abc was not found",
        "request_id": "req-42",
    }


def test_flow_service_errors_without_report_fall_back_to_error_message():
    body = {
        "type": "https://ns.adobe.com/aep/errors/FLOW-1103-503",
        "title": "Unavailable",
        "errorMessage": "Try later",
    }
    fields = error_fields(503, "Service Unavailable", body, "")
    assert (fields["code"], fields["title"], fields["detail"]) == ("FLOW-1103-503", "Unavailable", "Try later")


def test_gateway_errors_give_their_code_and_message():
    fields = error_fields(401, "Unauthorized", {"error_code": "401013", "message": "Oauth token is not valid"}, "")
    assert fields == {"code": "401013", "title": "Oauth token is not valid", "detail": "", "request_id": ""}


def test_code_and_message_errors_are_understood():
    fields = error_fields(400, "Bad Request", {"code": "FLOW-1413-400", "message": "Invalid spec id"}, "")
    assert (fields["code"], fields["title"]) == ("FLOW-1413-400", "Invalid spec id")


def test_ims_errors_read_as_an_authentication_failure():
    body = {"error": "invalid_client", "error_description": "invalid client_secret parameter"}
    fields = error_fields(401, "Unauthorized", body, "")
    assert fields["code"] == "invalid_client"
    assert fields["title"] == TITLE_AUTHENTICATION
    assert fields["detail"] == "invalid client_secret parameter"


def test_a_list_of_errors_keeps_the_first_and_mentions_the_others():
    body = [
        {"code": "FLOW-1413-400", "message": "Invalid spec id"},
        {"code": "FLOW-1405-400", "message": "Empty body"},
    ]
    fields = error_fields(400, "Bad Request", body, "")
    assert (fields["code"], fields["title"]) == ("FLOW-1413-400", "Invalid spec id")
    assert "Empty body (FLOW-1405-400)" in fields["detail"]


def test_errors_under_an_errors_key_are_understood():
    fields = error_fields(400, "Bad Request", {"errors": [FLOW_404]}, "")
    assert fields["code"] == "FLOW-1101-404"


def test_an_html_error_page_gives_the_http_reason_and_a_short_plain_excerpt():
    page = (
        "<html><head><title>502</title><style>body{color:red}</style><script>alert(1)</script></head>"
        "<body><h1>Bad gateway</h1><p>The upstream &amp; friends " + "went away " * 100 + "</p></body></html>"
    )
    fields = error_fields(502, "Bad Gateway", None, page)
    assert fields["title"] == "Bad Gateway"
    assert fields["detail"].startswith("502 Bad gateway The upstream & friends went away")
    assert "<" not in fields["detail"] and "alert" not in fields["detail"] and "color" not in fields["detail"]
    assert len(fields["detail"]) <= 300


def test_an_unknown_status_without_reason_is_still_named():
    assert error_fields(599, None, None, "")["title"] == "HTTP 599"
    assert error_fields(503, None, None, "")["title"] == "Service Unavailable"


def test_json_of_an_unknown_shape_is_shown_as_text():
    fields = error_fields(500, "Internal Server Error", {"oops": True}, '{"oops": true}')
    assert fields["title"] == "Internal Server Error"
    assert fields["detail"] == '{"oops": true}'


def test_the_message_is_a_sentence_with_title_detail_and_request_id():
    error = FlowServiceError(
        status=404,
        code="FLOW-1101-404",
        title="Resource not found",
        detail="Flow spec abc was not found",
        request_id="req-42",
    )
    assert (
        str(error)
        == "Resource not found: Flow spec abc was not found (HTTP 404, code FLOW-1101-404, request id req-42)"
    )


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (None, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (409, False),
        (412, False),
    ],
)
def test_retryable_says_whether_trying_later_may_help(status, retryable):
    assert FlowServiceError(status=status, title="x").retryable is retryable


def test_an_unknown_outcome_is_not_retryable_and_says_to_read_back():
    error = OutcomeUnknownError(detail="read the document back")
    assert isinstance(error, FlowServiceError)
    assert error.retryable is False
    assert error.title == "Outcome unknown"
    assert error.status is None


def test_errors_survive_pickling():
    error = FlowServiceError(status=503, code="c", title="t", detail="d", request_id="r")
    again = pickle.loads(pickle.dumps(error))  # noqa: S301
    assert again.as_dict() == error.as_dict()
    unknown = pickle.loads(pickle.dumps(OutcomeUnknownError(status=200, detail="d")))  # noqa: S301
    assert isinstance(unknown, OutcomeUnknownError) and unknown.status == 200


def test_text_excerpt_collapses_whitespace_and_caps_length():
    assert text_excerpt("a\n\n  b\t c") == "a b c"
    assert text_excerpt("x" * 500, 10) == "x" * 9 + "\u2026"
