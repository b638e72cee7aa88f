import copy
import json
import random

import jsonpatch
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowadmin import documents
from flowadmin.documents import (
    READ_ONLY_FIELDS,
    DiffLine,
    canonical_json,
    content_hash,
    json_patch,
    line_diff,
    pretty_json,
    put_body,
    source_ids,
    validate_document,
    with_source_ids,
)
from tests.flowservice.conftest import NEW_SOURCE_ID, streaming_spec

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
keys = (
    st.text(max_size=12)
    | st.sampled_from(sorted(READ_ONLY_FIELDS))
    | st.sampled_from(["id", "name", "sourceConnectionSpecIds", "optionSpec"])
)
json_documents = st.dictionaries(keys, json_values, max_size=10)
ids = st.lists(st.uuids().map(str), max_size=5)


def shuffled(value, rng: random.Random):
    """The same JSON value with every object's keys in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


# --- put_body ------------------------------------------------------------------------------------
def test_put_body_drops_the_read_only_metadata_and_keeps_the_rest():
    body = put_body(streaming_spec(etag='"3"', _links={"self": {"href": "x"}}))
    assert not READ_ONLY_FIELDS & body.keys()
    assert body["undocumentedFlag"] == {"keep": ["me", 1, None]}
    assert list(body) == [
        "id",
        "name",
        "providerId",
        "version",
        "attributes",
        "sourceConnectionSpecIds",
        "targetConnectionSpecIds",
        "optionSpec",
        "permissionsInfo",
        "undocumentedFlag",
    ]


@settings(deadline=None)
@given(json_documents)
def test_put_body_loses_no_field_but_metadata(document):
    body = put_body(document)
    assert list(body) == [key for key in document if key not in READ_ONLY_FIELDS]
    for key, value in body.items():
        assert canonical_json(value) == canonical_json(document[key])


@settings(deadline=None)
@given(json_documents)
def test_put_body_leaves_the_document_as_it_was(document):
    before = canonical_json(document)
    body = put_body(document)
    body["extra"] = True
    body.pop(next(iter(body), None), None)
    assert canonical_json(document) == before


def test_with_source_ids_leaves_the_base_list_as_it_was():
    base = streaming_spec()
    ids_before = list(base["sourceConnectionSpecIds"])
    proposed = with_source_ids(base, [*ids_before, NEW_SOURCE_ID])
    proposed["sourceConnectionSpecIds"].append("another")
    assert base["sourceConnectionSpecIds"] == ids_before


# --- canonical form and hash -----------------------------------------------------------------------
def test_canonical_json_sorts_keys_and_is_compact():
    assert canonical_json({"b": 1, "a": [1, {"d": 2, "c": "é"}]}) == '{"a":[1,{"c":"é","d":2}],"b":1}'


def test_pretty_json_sorts_keys_and_indents_by_two():
    assert pretty_json({"b": 1, "a": 2}) == '{\n  "a": 2,\n  "b": 1\n}'


def standard_pretty(value) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)


@settings(deadline=None, max_examples=300)
@given(json_values)
def test_pretty_json_prints_exactly_what_the_standard_library_prints(value):
    assert pretty_json(value) == standard_pretty(value)
    assert documents.pretty_text(value).text == standard_pretty(value)


def test_pretty_json_prints_values_json_cannot_decode_as_the_standard_library_does():
    unusual = ({1: "a", 2: {"b": (1, 2)}}, [True, 1, 1.0, -0.0, 1e16, 2**80, None], {"a": [[]], "b": {}}, "<&>\u2028")
    for value in unusual:
        assert pretty_json(value) == standard_pretty(value)
    for refused in (float("nan"), {"a": [1, float("inf")]}):
        with pytest.raises(ValueError):
            pretty_json(refused)


@settings(deadline=None)
@given(json_documents, st.dictionaries(st.sampled_from(sorted(READ_ONLY_FIELDS)), json_values), st.randoms())
def test_content_hash_ignores_metadata_and_key_order(document, metadata, rng):
    other = shuffled({**document, **metadata}, rng)
    assert content_hash(other) == content_hash(document)


def test_content_hash_changes_with_any_field_that_a_put_sends():
    document = streaming_spec()
    assert content_hash(document) != content_hash({**document, "undocumentedFlag": {"keep": ["me"]}})
    assert content_hash(document) != content_hash(with_source_ids(document, []))
    assert content_hash(document) == content_hash({**document, "updatedAt": 1})


def test_content_hash_tells_numbers_from_booleans():
    assert content_hash({"a": 1}) != content_hash({"a": True})


# --- source ids ------------------------------------------------------------------------------------
def test_source_ids_reads_the_list_and_tolerates_its_absence():
    assert source_ids(streaming_spec()) == ["d8a6f005-7eaf-4153-983e-e8574508b877"]
    assert source_ids({}) == []
    assert source_ids({"sourceConnectionSpecIds": "nope"}) == []


def test_with_source_ids_replaces_the_list_in_place_and_leaves_the_original_alone():
    document = streaming_spec()
    new = with_source_ids(document, [*source_ids(document), NEW_SOURCE_ID])
    assert new["sourceConnectionSpecIds"] == ["d8a6f005-7eaf-4153-983e-e8574508b877", NEW_SOURCE_ID]
    assert list(new) == list(document)
    assert document["sourceConnectionSpecIds"] == ["d8a6f005-7eaf-4153-983e-e8574508b877"]


@settings(deadline=None)
@given(json_documents, ids)
def test_with_source_ids_changes_only_that_field(document, new_ids):
    new = with_source_ids(document, new_ids)
    assert new["sourceConnectionSpecIds"] == new_ids
    rest = {key: value for key, value in new.items() if key != "sourceConnectionSpecIds"}
    before = {key: value for key, value in document.items() if key != "sourceConnectionSpecIds"}
    assert canonical_json(rest) == canonical_json(before)
    assert [key for key in new if key in document] == list(document)


# --- differences -----------------------------------------------------------------------------------
def test_json_patch_of_an_added_source_id_is_one_add():
    old = put_body(streaming_spec())
    new = with_source_ids(old, [*source_ids(old), NEW_SOURCE_ID])
    assert json_patch(old, new) == [{"op": "add", "path": "/sourceConnectionSpecIds/1", "value": NEW_SOURCE_ID}]


def test_json_patch_tells_numbers_from_booleans_and_escapes_keys():
    assert json_patch({"a": 1}, {"a": True}) == [{"op": "replace", "path": "/a", "value": True}]
    assert json_patch({"a/b~": [1]}, {"a/b~": [1, 2]}) == [{"op": "add", "path": "/a~1b~0/1", "value": 2}]


def test_json_patch_of_equal_documents_is_empty():
    assert json_patch(streaming_spec(), streaming_spec()) == []


@settings(deadline=None, max_examples=300)
@given(json_documents, json_documents)
def test_applying_json_patch_of_old_and_new_to_old_gives_new(old, new):
    patched = jsonpatch.apply_patch(old, json_patch(old, new))
    assert canonical_json(patched) == canonical_json(new)


@settings(deadline=None)
@given(json_documents, ids)
def test_json_patch_of_a_source_id_change_only_touches_that_field(document, new_ids):
    patch = json_patch(document, with_source_ids(document, new_ids))
    assert all(op["path"].startswith("/sourceConnectionSpecIds") for op in patch)


@settings(deadline=None, max_examples=300)
@given(st.lists(st.uuids().map(str), unique=True, max_size=30), st.data())
def test_json_patch_of_a_kept_removed_and_appended_id_list_applies_exactly(current, data):
    removed = set(data.draw(st.lists(st.sampled_from(current), unique=True))) if current else set()
    added = data.draw(st.lists(st.uuids().map(str), unique=True, max_size=10))
    added = [spec_id for spec_id in added if spec_id not in current]
    old = {"sourceConnectionSpecIds": current, "name": "x"}
    new = with_source_ids(old, [spec_id for spec_id in current if spec_id not in removed] + added)
    patch = json_patch(old, new)
    assert canonical_json(jsonpatch.apply_patch(old, patch)) == canonical_json(new)
    assert len(patch) == len(removed) + len(added)


def test_json_patch_of_a_long_id_list_has_one_operation_per_id_changed():
    current = [f"00000000-0000-4000-8000-{number:012d}" for number in range(20_000)]
    added = [f"11111111-0000-4000-8000-{number:012d}" for number in range(20_000)]
    old = {"sourceConnectionSpecIds": current}
    new = with_source_ids(old, current[1:] + added)
    patch = json_patch(old, new)
    assert patch[0] == {"op": "remove", "path": "/sourceConnectionSpecIds/0"}
    assert patch[1] == {"op": "add", "path": "/sourceConnectionSpecIds/19999", "value": added[0]}
    assert len(patch) == 20_001
    assert jsonpatch.apply_patch(old, patch) == new


def test_line_diff_of_equal_documents_is_empty():
    assert line_diff(streaming_spec(), streaming_spec()) == []


def test_line_diff_shows_the_added_id_with_context_and_line_numbers():
    old = put_body(streaming_spec())
    new = with_source_ids(old, [*source_ids(old), NEW_SOURCE_ID])
    diff = line_diff(old, new, context=1)
    old_lines, new_lines = pretty_json(old).splitlines(), pretty_json(new).splitlines()
    assert [line.kind for line in diff] == ["hunk", "ctx", "del", "add", "add", "ctx"]
    assert diff[0].text.startswith("@@ -")
    deleted, *added = diff[2:5]
    assert deleted.text == old_lines[deleted.old_no - 1] and deleted.new_no is None
    assert [line.text.strip() for line in added] == ['"d8a6f005-7eaf-4153-983e-e8574508b877",', f'"{NEW_SOURCE_ID}"']
    assert all(line.text == new_lines[line.new_no - 1] and line.old_no is None for line in added)
    for line in (diff[1], diff[5]):
        assert line.text == old_lines[line.old_no - 1] == new_lines[line.new_no - 1]


def test_line_diff_hunk_headers_read_like_unified_diff():
    old = {"a": 1, "b": 2}
    new = {"a": 1, "b": 3}
    assert line_diff(old, new, context=0) == [
        DiffLine("hunk", "@@ -3 +3 @@", 3, 3),
        DiffLine("del", '  "b": 2', 3, None),
        DiffLine("add", '  "b": 3', None, 3),
    ]


def test_line_diff_against_no_document_adds_every_line():
    diff = line_diff(None, {"a": 1})
    assert [line.kind for line in diff] == ["hunk", "add", "add", "add"]
    assert diff[0].text == "@@ -0,0 +1,3 @@"


@settings(deadline=None)
@given(json_documents, json_documents)
def test_line_diff_rebuilds_both_sides(old, new):
    diff = line_diff(old, new, context=10**6)
    if canonical_json(old) == canonical_json(new):
        assert diff == []
        return
    assert [line.text for line in diff if line.kind in ("ctx", "del")] == pretty_json(old).split("\n")
    assert [line.text for line in diff if line.kind in ("ctx", "add")] == pretty_json(new).split("\n")


@settings(deadline=None)
@given(json_documents, json_documents)
def test_a_document_printed_reusing_another_prints_as_pretty_json(old, changes):
    new = {**old, **changes}  # shares every value it did not change with old
    old_text = documents.pretty_text(old)
    assert old_text.text == pretty_json(old)
    assert documents.pretty_text(new, like=old_text).text == pretty_json(new)
    assert documents.pretty_text(new, like=old_text.for_document(dict(old))).text == pretty_json(new)


@settings(deadline=None)
@given(json_documents, ids)
def test_line_diff_of_an_id_change_rebuilds_both_sides(document, new_ids):
    old = put_body(document)
    new = put_body(with_source_ids(document, new_ids))
    line_diff = documents.LineDiff(old, new, old_text=documents.pretty_text(old))
    assert line_diff.hunks(1) == documents.line_diff(old, new, context=1)  # asked first: must not cut the next
    diff = line_diff.hunks(10**6)
    if diff:
        assert [line.text for line in diff if line.kind in ("ctx", "del")] == pretty_json(old).split("\n")
        assert [line.text for line in diff if line.kind in ("ctx", "add")] == pretty_json(new).split("\n")


# --- validation ------------------------------------------------------------------------------------
def test_a_real_flow_spec_is_valid_with_or_without_its_metadata():
    assert validate_document(streaming_spec()) == []
    assert validate_document(put_body(streaming_spec())) == []


def test_the_id_may_be_left_out_of_the_body():
    document = put_body(streaming_spec())
    del document["id"]
    assert validate_document(document) == []


def test_unknown_fields_are_allowed_everywhere():
    document = streaming_spec(newThing={"x": [1]}, optionSpec={"name": "o", "spec": {}, "extra": 1})
    assert validate_document(document) == []


def test_validation_names_the_json_path_of_each_problem():
    document = streaming_spec(
        name="",
        providerId="not-a-uuid",
        sourceConnectionSpecIds=[
            NEW_SOURCE_ID,
            "d8a6f005-7eaf-4153-983e-e8574508b877",
            NEW_SOURCE_ID,
            "abc",
            "BDB5B792-451B-42DE-ACF8-15F3195821DE",
        ],
        targetConnectionSpecIds=["nope"],
        permissionsInfo={"view": [{"name": 3}]},
    )
    del document["version"]
    assert validate_document(document) == [
        "version: is required",
        "name: must not be empty",
        "permissionsInfo.view[0].name: 3 is not of type 'string'",
        "providerId: 'not-a-uuid' is not a valid UUID",
        f"sourceConnectionSpecIds: '{NEW_SOURCE_ID}' appears more than once",
        "sourceConnectionSpecIds[3]: 'abc' is not a valid UUID",
        "sourceConnectionSpecIds[4]: 'BDB5B792-451B-42DE-ACF8-15F3195821DE' must be written in lower case",
        "targetConnectionSpecIds[0]: 'nope' is not a valid UUID",
    ]


def test_a_blank_name_is_refused():
    assert validate_document(streaming_spec(name="   ")) == ["name: must not be blank"]


def test_wrong_shapes_are_reported():
    document = streaming_spec(
        version=1, sourceConnectionSpecIds="x", transformationSpecs=[{"name": "Mapping", "spec": []}], attributes=[]
    )
    assert validate_document(document) == [
        "attributes: [] is not of type 'object'",
        "sourceConnectionSpecIds: 'x' is not of type 'array'",
        "transformationSpecs[0].spec: [] is not of type 'object'",
        "version: 1 is not of type 'string'",
    ]


def test_a_document_that_is_not_an_object_is_refused():
    assert validate_document([]) == ["document: [] is not of type 'object'"]


def test_the_schema_is_valid_draft_2020_12_and_compiled_once():
    schema = json.loads(documents.SCHEMA_PATH.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert documents.schema._validator() is documents.schema._validator()


@settings(deadline=None, max_examples=100)
@given(json_documents, st.dictionaries(st.sampled_from(sorted(READ_ONLY_FIELDS)), json_values, max_size=3))
def test_a_kept_printed_document_is_exactly_its_pretty_json_metadata_included(document, metadata):
    from flowadmin.documents import pretty_text_kept, printed_forget

    printed_forget()
    full = {**document, **metadata}
    key = content_hash(full)
    assert pretty_text_kept(full, key).text == pretty_json(full)
    # A copy with other metadata and the same content reuses the printed body and still prints itself.
    other = {**copy.deepcopy(document), "updatedAt": 1}
    assert pretty_text_kept(other, key).text == pretty_json(other)


def test_a_document_is_printed_once_per_content_for_every_page_that_shows_it(monkeypatch):
    from flowadmin.documents import diff as module

    module.printed_forget()
    printed: list[str] = []
    real = module.pretty
    monkeypatch.setattr(module, "pretty", lambda value, indent="": printed.append(value) or real(value, indent))
    document = {**streaming_spec(), "updatedAt": 5}
    key = content_hash(document)
    metadata = [name for name in document if name in READ_ONLY_FIELDS]

    assert module.pretty_text_kept(document, key).text == pretty_json(document)
    assert len(printed) == len(document), "each top-level value printed once"
    printed.clear()
    later = {**document, "updatedAt": 6}
    assert module.pretty_text_kept(later, key).text == pretty_json(later)
    assert len(printed) == len(metadata), "the body is not printed again: only the metadata around it"


def test_a_document_shares_the_values_it_has_in_common_with_another_and_keeps_its_own():
    from flowadmin.documents import shared_with

    base = {"a": {"deep": [1, 2]}, "b": {"x": 1}, "c": "same", "sourceConnectionSpecIds": ["1"], "e": [1, True]}
    decoded = {
        "a": {"deep": [1, 2]},
        "b": {"x": 1.0},
        "c": "same",
        "sourceConnectionSpecIds": ["1", "2"],
        "d": 4,
        "e": [True, 1],
    }

    shared = shared_with(decoded, base)

    assert shared == decoded and list(shared) == list(decoded)
    assert shared["a"] is base["a"] and shared["c"] is base["c"]
    assert shared["b"] is decoded["b"], "1.0 is not 1 as JSON: kept as it is"
    assert shared["e"] is decoded["e"], "true is not 1 as JSON: kept as it is"
    assert shared["sourceConnectionSpecIds"] is decoded["sourceConnectionSpecIds"]
    assert pretty_json(shared) == pretty_json(decoded)


def test_a_decoded_document_is_json_loads_and_leaves_the_cycle_collector_as_it_was():
    import gc

    assert documents.decoded('{"a": [1, 1.0, true, null], "b": "é"}') == {"a": [1, 1.0, True, None], "b": "é"}
    assert gc.isenabled()
    gc.disable()
    try:
        documents.decoded("[]")
        assert not gc.isenabled()
    finally:
        gc.enable()
