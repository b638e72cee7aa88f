"""The list query rules on their own (`flowadmin.emulator.filters`): paths, the text pre-check, orderby, tokens."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowadmin.emulator import filters

FLOW = {
    "id": "f1",
    "name": 'Ströme "quoted" to AEP',
    "state": "enabled",
    "sourceConnectionIds": ["s1", "s2"],
    "inheritedAttributes": {"sourceConnections": [{"connectionSpec": {"id": "c1"}}, {"connectionSpec": {"id": "c2"}}]},
    "lastRunDetails": {"startedAtUTC": 1700000000000, "ok": True, "note": None},
}


def passes(document: dict, *raw: str) -> bool:
    return filters.matches(document, filters.parse_properties(list(raw)))


def test_brackets_walk_into_array_items_and_a_final_array_matches_any_item():
    assert passes(FLOW, "inheritedAttributes.sourceConnections[].connectionSpec.id==c2")
    assert passes(FLOW, "sourceConnectionIds[]==s9,s2") and passes(FLOW, "sourceConnectionIds==s1")
    assert not passes(FLOW, "inheritedAttributes.sourceConnections[].connectionSpec.id==c3")
    assert passes(FLOW, "inheritedAttributes.sourceConnections[].connectionSpec.id!=c3")


def test_missing_fields_fail_equality_and_pass_inequality():
    assert not passes(FLOW, "description==x") and passes(FLOW, "description!=x")
    assert not passes(FLOW, "state[].x==enabled")


def test_numbers_booleans_and_null_compare_as_adobe_writes_them():
    assert passes(FLOW, "lastRunDetails.startedAtUTC>=1700000000000", "lastRunDetails.ok==true")
    assert passes(FLOW, "lastRunDetails.note==null") and not passes(FLOW, "lastRunDetails.startedAtUTC<5")


@pytest.mark.parametrize("raw", ["in(state,enabled)", "state", "state=enabled", "state==", "a[]]==x"])
def test_forms_adobe_does_not_document_are_refused_or_match_nothing(raw):
    try:
        parsed = filters.parse_properties([raw])
    except filters.QueryError as error:
        assert "Invalid property filter" in str(error)
    else:
        assert not filters.matches(FLOW, parsed)


values = st.one_of(
    st.text(max_size=6),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has neither (bodies refuse them)
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=3),
)


@given(
    value=values, other=st.text(alphabet=st.characters(blacklist_characters=",\n\r"), max_size=6), same=st.booleans()
)
def test_the_text_pre_check_never_drops_a_document_that_matches(value, other, same):
    document = {"name": value}
    candidate = value[0] if isinstance(value, list) and value else value
    written = json.dumps(candidate) if candidate is None or isinstance(candidate, bool) else candidate
    wanted = written if same and not isinstance(candidate, list) else other
    wanted = str(wanted).replace(",", "").replace("\n", "").replace("\r", "")
    query = filters.parse_properties([f"name=={wanted}"])
    for text in (json.dumps(document, ensure_ascii=False), json.dumps(document)):
        assert filters.select_texts([text], query) == ([text] if filters.matches(document, query) else [])


def test_order_is_stable_and_puts_documents_without_the_field_last_both_ways():
    documents = [{"n": 2, "k": "a"}, {"k": "b"}, {"n": 1, "k": "c"}, {"n": 2, "k": "d"}]
    assert [documents[i]["k"] for i in filters.order(documents, "n")] == ["c", "a", "d", "b"]
    assert [documents[i]["k"] for i in filters.order(documents, "-n")] == ["a", "d", "c", "b"]
    assert [documents[i]["k"] for i in filters.order(documents, "+k")] == ["a", "b", "c", "d"]


def test_a_continuation_token_carries_the_whole_query():
    token = filters.continuation_encode(offset=40, limit=20, properties=["state==enabled", " "], orderby="-name")
    assert filters.continuation_decode(token) == filters.Continuation(40, 20, ["state==enabled"], "-name")
    with pytest.raises(filters.QueryError):
        filters.continuation_decode(token[:-3] + "!!!")
