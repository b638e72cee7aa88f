"""The audit log names what its ids point at, and its filters find what people type."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flowadmin.audit.forms import SHORT_ID
from tests.audit.conftest import CONN_X, SPEC_A, SPEC_B
from tests.audit.test_views import API, INDEX, csv_rows, jsonl_records
from tests.catalog.factories import make_flowspec, make_sandbox

LIVE = {"HX-Request": "true", "X-Live-Filter": "1"}


def visible(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def cached(db):
    """The flow specs of the history as the catalog knows them; prod has a title of its own."""
    prod = make_sandbox("prod", title="Production EMEA", type="production")
    make_flowspec(prod, SPEC_A, "GenericStreamingAEP")
    make_flowspec(make_sandbox("dev"), SPEC_B, "Batch uploads")


@pytest.fixture
def named(alice, bob):
    alice.first_name, alice.last_name = "Alice", "Martin"
    alice.save()
    return alice


def test_audit_rows_name_the_flow_spec_and_the_sandbox_with_the_id_copyable(auditor_client, history, cached):
    response = auditor_client.get(INDEX)

    text = visible(response)
    assert "GenericStreamingAEP" in text and "Batch uploads" in text
    assert "Production EMEA (prod)" in text
    assert f'data-copy="{SPEC_A}"' in response.text
    assert f'<code title="{SPEC_A}">{SPEC_A[:8]}…</code>' in response.text


def test_an_unknown_flow_spec_id_is_shown_whole(auditor_client, history):
    response = auditor_client.get(INDEX)

    assert f"<code>{SPEC_A}</code>" in response.text
    assert f'data-copy="{SPEC_A}"' in response.text


def test_the_event_page_names_the_flow_spec_above_its_whole_id(auditor_client, history, cached):
    text = visible(auditor_client.get(f"/audit/{history[0].seq}/"))

    assert f"Flow spec GenericStreamingAEP {SPEC_A} Copy" in text
    assert "Production EMEA (prod)" in text


def test_the_audit_page_costs_the_same_queries_with_names_for_more_events(
    client, auditor_user, history, cached, django_assert_num_queries
):
    client.force_login(auditor_user)
    with CaptureQueriesContext(connection) as few:
        client.get(INDEX, {"sandbox": "dev"})

    with django_assert_num_queries(len(few)):
        assert "GenericStreamingAEP" in visible(client.get(INDEX))


def test_exports_and_the_api_carry_names_beside_unchanged_ids(auditor_client, history, cached):
    row = next(row for row in csv_rows(auditor_client, {}) if row["seq"] == "1")
    record = next(record for record in jsonl_records(auditor_client, {}) if record["seq"] == 1)
    [api] = [item for item in auditor_client.get(API).json()["results"] if item["seq"] == 1]

    header = next(iter(csv_rows(auditor_client, {})[0]))
    assert header == "seq"
    columns = list(csv_rows(auditor_client, {})[0])
    assert columns[columns.index("spec_id") + 1] == "spec_name"
    assert columns[columns.index("sandbox") + 1] == "sandbox_title"
    for item in (row, record, api):
        assert item["spec_id"] == SPEC_A
        assert item["spec_name"] == "GenericStreamingAEP"
        assert item["sandbox"] == "prod"
        assert item["sandbox_title"] == "Production EMEA"


def test_an_event_of_an_unknown_flow_spec_exports_an_empty_name(auditor_client, history):
    [api] = [item for item in auditor_client.get(API).json()["results"] if item["seq"] == 1]

    assert api["spec_id"] == SPEC_A
    assert api["spec_name"] == ""


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"spec_id": SPEC_A}, [3, 2, 1]),
        ({"spec_id": SPEC_A[:8]}, [3, 2, 1]),
        ({"spec_id": SPEC_A[:8] + "…"}, [3, 2, 1]),
        ({"spec_id": SPEC_A[:13].upper()}, [3, 2, 1]),
        ({"actor": "bob"}, [6, 3, 2]),
        ({"actor": "ali"}, [5, 1]),
        ({"actor": "Martin"}, [5, 1]),
        ({"actor": "alice martin"}, [5, 1]),
        ({"q": "Martin"}, [5, 1]),
        ({"q": CONN_X[:8]}, [3, 1]),
        ({"q": CONN_X[:8] + "…"}, [3, 1]),
        ({"q": CONN_X.upper()}, [3, 1]),
    ],
)
def test_the_filters_find_partial_ids_and_people_by_name(auditor_client, history, named, params, expected):
    response = auditor_client.get(API, params)

    assert [row["seq"] for row in response.json()["results"]] == expected


def test_a_flow_spec_id_shorter_than_8_characters_says_why_and_keeps_what_was_typed(auditor_client, history):
    response = auditor_client.get(INDEX, {"spec_id": "e77fde5"})

    text = visible(response)
    assert SHORT_ID.format(length=8).replace("%(value)s", "e77fde5") in text
    assert 'value="e77fde5"' in response.text


def test_typing_keeps_the_rows_until_an_answer_has_events(auditor_client, history):
    half_a_word = auditor_client.get(INDEX, {"q": "zzz"}, headers=LIVE)
    half_a_date = auditor_client.get(INDEX, {"since": "2025-0"}, headers=LIVE)
    short_id = auditor_client.get(INDEX, {"spec_id": "e77f"}, headers=LIVE)
    found = auditor_client.get(INDEX, {"q": "acme"}, headers=LIVE)
    finished = auditor_client.get(INDEX, {"q": "zzz"}, headers={"HX-Request": "true"})

    assert [half_a_word.status_code, half_a_date.status_code, short_id.status_code] == [204, 204, 204]
    assert found.status_code == 200 and "Add the Acme source" in found.content.decode()
    assert finished.status_code == 200 and "No audit events match these filters." in finished.content.decode()


def test_the_typed_fields_ask_as_live_and_the_form_answers_on_change_and_submit(auditor_client, history):
    content = auditor_client.get(INDEX).content.decode()

    assert 'hx-trigger="submit, change"' in content and "data-live-filters" in content
    assert content.count("X-Live-Filter") == 6


def test_an_id_start_shared_by_two_ids_finds_the_events_of_both(auditor_client, db):
    from flowadmin.audit.services import audit_record

    first = "12345678-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    second = "12345678-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
    one = audit_record(action="change.proposed", sandbox="dev", spec_id=first, detail="first")
    two = audit_record(action="change.proposed", sandbox="dev", spec_id=second, detail="second")

    def seqs(params):
        return [row["seq"] for row in auditor_client.get(API, params).json()["results"]]

    assert seqs({"q": "12345678"}) == [two.seq, one.seq]
    assert seqs({"spec_id": "12345678"}) == [two.seq, one.seq]
    assert seqs({"q": "12345678-a"}) == [one.seq]
    assert seqs({"spec_id": "12345678-bbbb"}) == [two.seq]
