import csv
import datetime
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flowadmin.audit.forms import BAD_CURSOR, BAD_MOMENT, SINCE_AFTER_UNTIL, UNKNOWN_ACTION, UNKNOWN_OUTCOME
from flowadmin.audit.selectors import PAGE_SIZE

from .conftest import CONN_X, CONN_Y, SPEC_A, SPEC_B
from .factories import bulk_events

INDEX, API, CSV_EXPORT, JSONL_EXPORT = "/audit/", "/api/audit/", "/audit/export.csv", "/audit/export.jsonl"
ALL_URLS = [INDEX, "/audit/1/", API, CSV_EXPORT, JSONL_EXPORT]


def page_seqs(client, params) -> list[int]:
    response = client.get(INDEX, params)
    assert response.status_code == 200
    return [event.seq for event in response.context["page"].events]


def api_seqs(client, params) -> list[int]:
    response = client.get(API, params)
    assert response.status_code == 200
    return [event["seq"] for event in response.json()["results"]]


def streamed(response) -> str:
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def csv_rows(client, params) -> list[dict]:
    return list(csv.DictReader(io.StringIO(streamed(client.get(CSV_EXPORT, params)))))


def jsonl_records(client, params) -> list[dict]:
    """The events of a JSON Lines export: lines with a "type" (export, search_text, checkpoint) are not events."""
    lines = [json.loads(line) for line in streamed(client.get(JSONL_EXPORT, params)).splitlines()]
    return [line for line in lines if "type" not in line]


# --- who may see it ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ALL_URLS)
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", ALL_URLS)
@pytest.mark.parametrize("role_client", ["staff_client", "approver_client"])
def test_staff_and_approvers_may_not_see_the_audit_log(request, history, url, role_client):
    assert request.getfixturevalue(role_client).get(url).status_code == 403


@pytest.mark.parametrize("url", ALL_URLS)
def test_django_staff_status_alone_does_not_open_the_audit_log(client, django_user_model, history, url):
    client.force_login(django_user_model.objects.create_user("ops", password="pw", is_staff=True))
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", ALL_URLS)
def test_auditors_see_the_audit_log(auditor_client, history, url):
    assert auditor_client.get(url).status_code == 200


@pytest.mark.parametrize("url", ALL_URLS)
def test_superusers_see_the_audit_log(client, django_user_model, history, url):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw"))
    assert client.get(url).status_code == 200


# --- filters ----------------------------------------------------------------------------------

FILTER_CASES = {
    "everything": ({}, [1, 2, 3, 4, 5, 6, 7]),
    "sandbox": ({"sandbox": "prod"}, [1, 2, 3, 7]),
    "flow spec": ({"spec_id": SPEC_B}, [4, 5, 6]),
    "actor": ({"actor": "alice"}, [1, 5]),
    "action": ({"action": "change.proposed"}, [1, 5]),
    "outcome": ({"outcome": "failure"}, [6]),
    "since a day": ({"since": "2025-03-02"}, [4, 5, 6, 7]),
    "until a day, inclusive": ({"until": "2025-03-01"}, [1, 2, 3]),
    "between instants": ({"since": "2025-03-01T10:00", "until": "2025-03-02T08:00:00Z"}, [2, 3, 4]),
    "added connection spec id": ({"q": CONN_X}, [1, 3]),
    "removed connection spec id, any case": ({"q": CONN_Y.upper()}, [5]),
    "words of the detail": ({"q": "acme SOURCE"}, [1]),
    "an id and a word": ({"q": f"acme {CONN_X}"}, [1]),
    "username in q": ({"q": "bob"}, [2, 3, 6]),
    "flow spec id in q": ({"q": SPEC_A[:13]}, [1, 2, 3]),
    "change request": ({"change_request_id": "8"}, [5, 6]),
    "combined": ({"sandbox": "dev", "outcome": "success", "since": "2025-03-02T08:30"}, [5]),
    "nothing matches": ({"actor": "mallory"}, []),
}


@pytest.mark.parametrize("params, expected", FILTER_CASES.values(), ids=FILTER_CASES.keys())
def test_page_api_and_exports_return_the_same_events_for_the_same_filters(auditor_client, history, params, expected):
    newest_first = sorted(expected, reverse=True)

    assert page_seqs(auditor_client, params) == newest_first
    assert api_seqs(auditor_client, params) == newest_first
    assert [int(row["seq"]) for row in csv_rows(auditor_client, params)] == sorted(expected)
    assert [record["seq"] for record in jsonl_records(auditor_client, params)] == sorted(expected)


def test_the_page_shows_what_matched(auditor_client, history):
    content = auditor_client.get(INDEX, {"spec_id": SPEC_B}).content.decode()

    assert "Remove the old source" in content
    assert "HTTP 503 from Flow Service" in content
    assert 'class="badge badge-bad">failure' in content
    assert "Add the Acme source" not in content


def test_an_event_of_a_change_request_links_to_it(auditor_client, history):
    content = auditor_client.get(INDEX, {"change_request_id": "8"}).content.decode()

    assert '<a href="/changes/8/">#8</a>' in content


def test_the_page_says_when_nothing_matches(auditor_client, history):
    assert "No audit events match these filters." in auditor_client.get(INDEX, {"actor": "mallory"}).content.decode()


def test_export_links_carry_the_current_filters_but_not_the_page(auditor_client, history):
    content = auditor_client.get(INDEX, {"sandbox": "prod", "before": "3"}).content.decode()

    assert 'href="/audit/export.csv?sandbox=prod"' in content
    assert 'href="/audit/export.jsonl?sandbox=prod"' in content


# --- invalid filters --------------------------------------------------------------------------

INVALID_CASES = {
    "since": ({"since": "yesterday"}, BAD_MOMENT % {"value": "yesterday"}),
    "until": ({"until": "2025-02-30"}, BAD_MOMENT % {"value": "2025-02-30"}),
    "action": ({"action": "change.teleported"}, UNKNOWN_ACTION % {"value": "change.teleported"}),
    "outcome": ({"outcome": "meh"}, UNKNOWN_OUTCOME % {"value": "meh"}),
    "before": ({"before": "abc"}, BAD_CURSOR),
    "after": ({"after": "-4"}, BAD_CURSOR),
    "cursor beyond any event": ({"before": str(2**64)}, BAD_CURSOR),
    "since after until": ({"since": "2025-03-02", "until": "2025-03-01"}, SINCE_AFTER_UNTIL),
}


@pytest.mark.parametrize("params, message", INVALID_CASES.values(), ids=INVALID_CASES.keys())
def test_an_invalid_filter_is_explained_above_the_results_and_kept_in_the_form(
    auditor_client, history, params, message
):
    response = auditor_client.get(INDEX, {"q": "acme", **params})
    content = response.content.decode()

    assert response.status_code == 200
    assert 'role="alert"' in content
    assert message.replace("“", "&ldquo;").replace("”", "&rdquo;") in content or message in content
    assert 'value="acme"' in content
    for name in ("since", "until"):
        if name in params:
            assert f'value="{params[name]}"' in content
    assert response.context["page"] is None


@pytest.mark.parametrize("params, message", INVALID_CASES.values(), ids=INVALID_CASES.keys())
def test_an_invalid_filter_is_a_400_with_a_json_error_in_the_api_and_exports(auditor_client, history, params, message):
    for url in (API, CSV_EXPORT, JSONL_EXPORT):
        response = auditor_client.get(url, params)

        assert response.status_code == 400
        body = response.json()
        assert body["error"] == "Invalid filter values."
        assert message in [error for errors in body["errors"].values() for error in errors]


def test_the_api_cannot_have_both_cursors(auditor_client, history):
    response = auditor_client.get(API, {"before": "5", "after": "2"})

    assert response.status_code == 400
    assert "__all__" in response.json()["errors"]


# --- keyset pagination ------------------------------------------------------------------------


def _walk_pages(client, params):
    seen, pages, cursor = [], 0, {}
    while True:
        response = client.get(INDEX, {**params, **cursor})
        page = response.context["page"]
        seen.extend(event.seq for event in page.events)
        pages += 1
        if page.older is None:
            return seen, pages
        assert f"before={page.older}" in response.content.decode()
        cursor = {"before": page.older}


def test_keyset_pages_walk_every_event_exactly_once_newest_first(auditor_client, db):
    bulk_events(2 * PAGE_SIZE + 17)

    seen, pages = _walk_pages(auditor_client, {})

    assert seen == list(range(2 * PAGE_SIZE + 17, 0, -1))
    assert pages == 3


def test_keyset_pages_walk_a_filtered_log_exactly_once(auditor_client, db):
    bulk_events(60, sandbox="alpha")
    bulk_events(60, sandbox="beta")
    bulk_events(60, sandbox="alpha")

    seen, pages = _walk_pages(auditor_client, {"sandbox": "alpha"})

    assert seen == list(range(180, 120, -1)) + list(range(60, 0, -1))
    assert pages == 3


def test_newer_links_walk_back_to_the_newest_page(auditor_client, db):
    bulk_events(2 * PAGE_SIZE + 5)
    oldest_page = auditor_client.get(INDEX, {"before": "6"}).context["page"]
    assert [event.seq for event in oldest_page.events] == [5, 4, 3, 2, 1]

    middle = auditor_client.get(INDEX, {"after": str(oldest_page.newer)}).context["page"]
    assert [event.seq for event in middle.events] == list(range(PAGE_SIZE + 5, 5, -1))
    newest = auditor_client.get(INDEX, {"after": str(middle.newer)}).context["page"]
    assert [event.seq for event in newest.events] == list(range(2 * PAGE_SIZE + 5, PAGE_SIZE + 5, -1))
    assert newest.newer is None


def test_the_api_next_links_walk_every_event_exactly_once(auditor_client, db):
    bulk_events(PAGE_SIZE * 2 + 1, sandbox="alpha")
    url, seen = f"{API}?sandbox=alpha", []
    while url:
        body = auditor_client.get(url).json()
        seen.extend(record["seq"] for record in body["results"])
        url = body["next"]

    assert seen == list(range(PAGE_SIZE * 2 + 1, 0, -1))


def test_a_page_never_counts_or_offsets(auditor_client, db):
    bulk_events(PAGE_SIZE + 10)
    with CaptureQueriesContext(connection) as queries:
        auditor_client.get(INDEX, {"before": "40", "sandbox": "bulk", "q": "bulk"})
        auditor_client.get(API, {"after": "3"})

    audit_sql = [query["sql"].upper() for query in queries.captured_queries if "AUDIT_EVENT" in query["sql"].upper()]
    assert audit_sql
    assert not any("OFFSET" in sql or "COUNT(" in sql for sql in audit_sql)


# --- htmx -------------------------------------------------------------------------------------


def test_htmx_filtering_returns_only_the_results_fragment(auditor_client, history):
    response = auditor_client.get(INDEX, {"actor": "alice"}, headers={"HX-Request": "true"})
    content = response.content.decode()

    assert response.status_code == 200
    assert content.lstrip().startswith('<section id="audit-results"')
    assert "<html" not in content
    assert "Add the Acme source" in content
    assert "HX-Request" in response["Vary"]


def test_the_filter_form_works_with_and_without_javascript(auditor_client, history):
    content = auditor_client.get(INDEX).content.decode()

    assert 'method="get" action="/audit/"' in content
    assert 'hx-get="/audit/"' in content
    assert 'hx-target="#audit-results"' in content
    assert 'hx-push-url="true"' in content
    assert "input changed delay:" in content
    assert "<script>" not in content.replace('<script src="', "")
    assert ' style="' not in content


def test_a_history_restore_gets_the_whole_page(auditor_client, history):
    response = auditor_client.get(INDEX, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})

    assert "<html" in response.content.decode()


# --- one event --------------------------------------------------------------------------------


def test_the_event_page_shows_the_diff_patch_and_http_exchange(auditor_client, history):
    response = auditor_client.get("/audit/3/")
    content = response.content.decode()

    assert response.status_code == 200
    assert '<span class="line add">' in content and CONN_X in content
    assert '<span class="line hunk">' in content
    assert '<span class="line ctx">' in content
    assert "JSON Patch" in content and '"op": "add"' in content
    assert "req-put-1" in content and "184" in content and "PUT" in content
    assert f"/data/foundation/flowservice/flowSpecs/{SPEC_A}" in content
    assert 'href="/changes/7/"' in content
    assert 'href="/audit/2/"' in content and 'href="/audit/4/"' in content
    assert "bob" in content
    assert history[2].hash in content and history[2].prev_hash in content
    assert ' style="' not in content


def test_the_event_page_shows_a_removed_id_as_a_deleted_line(auditor_client, history):
    content = auditor_client.get("/audit/5/").content.decode()

    assert f'<span class="line del">    "{CONN_Y}"' in content


def test_the_event_page_of_a_deleted_user_still_names_them(auditor_client, history, alice):
    alice.delete()
    content = auditor_client.get("/audit/1/").content.decode()

    assert "alice" in content
    assert "account deleted" in content


def test_an_unknown_event_is_404(auditor_client, history):
    assert auditor_client.get("/audit/999/").status_code == 404
    assert auditor_client.get(f"/audit/{2**64}/").status_code == 404


# --- exports ----------------------------------------------------------------------------------


def test_exports_are_streamed_attachments_named_with_the_time(auditor_client, history):
    for url, extension, content_type in (
        (CSV_EXPORT, "csv", "text/csv"),
        (JSONL_EXPORT, "jsonl", "application/x-ndjson"),
    ):
        response = auditor_client.get(url)

        assert response.streaming
        assert response["Content-Type"].startswith(content_type)
        assert response["Content-Disposition"].startswith('attachment; filename="flowadmin-audit-')
        assert response["Content-Disposition"].endswith(f'.{extension}"')


def test_the_csv_export_cannot_inject_spreadsheet_formulas(auditor_client, db):
    from flowadmin.audit.services import audit_record

    audit_record(action="change.rejected", detail='=HYPERLINK("http://evil")', sandbox="+dev", spec_id="@x")
    audit_record(action="change.rejected", detail="-2+3")

    rows = csv_rows(auditor_client, {})

    assert rows[0]["detail"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["sandbox"] == "'+dev"
    assert rows[0]["spec_id"] == "'@x"
    assert rows[1]["detail"] == "'-2+3"


def test_the_exports_carry_documents_patch_and_http_as_json(auditor_client, history):
    row = next(row for row in csv_rows(auditor_client, {}) if row["seq"] == "3")
    record = next(record for record in jsonl_records(auditor_client, {}) if record["seq"] == 3)

    assert json.loads(row["after"])["sourceConnectionSpecIds"][-1] == CONN_X
    assert json.loads(row["http"])["request_id"] == "req-put-1"
    assert record["http"]["status"] == 200
    assert record["actor"] == "bob"
    assert record["hash"] == history[2].hash
    assert set(record) == {
        "seq",
        "at",
        "actor",
        "action",
        "outcome",
        "sandbox",
        "sandbox_title",
        "spec_id",
        "spec_name",
        "change_request_id",
        "correlation_id",
        "detail",
        "before",
        "after",
        "patch",
        "http",
        "prev_hash",
        "hash",
    }


def test_each_audit_row_shows_the_exact_utc_time_with_the_relative_time_as_a_hint(auditor_client, history, settings):
    from flowadmin.audit.models import AuditEvent

    settings.TIME_ZONE = "Europe/Berlin"  # the row says UTC whatever the server's zone
    event = AuditEvent.objects.order_by("-seq").first()
    page = auditor_client.get("/audit/").content.decode()
    exact = event.at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert f'<time datetime="{event.at.astimezone(datetime.UTC).isoformat()}">{exact} UTC</time>' in page
    assert '<span class="hint">' in page and " ago</span>" in page, "the relative time stays as a hint"
