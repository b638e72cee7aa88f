"""The seed data in `specs/` and how it is loaded (`seed_emulator`, `seed_demo`)."""

import json
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from jsonschema import Draft202012Validator

from flowadmin.emulator.models import (
    ConnectionSpecDocument,
    FaultRule,
    FlowSpecDocument,
    RemoteSandbox,
    RequestLogEntry,
)
from flowadmin.emulator.seed import SPECS_DIR, seed_emulator, seed_files
from flowadmin.emulator.services import fault_rule_add, flowspec_replace, request_log_record
from flowadmin.emulator.validation import IGNORED_FIELDS, flowspec_body_errors
from tests.fixtures.emulator import GENERIC_STREAMING_ID, NEW_STREAMING_SOURCE_ID

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KNOWN_FLOW_SPECS = {
    "e77fde5a-22a8-11ed-861d-0242ac120002": "GenericStreamingAEP",
    "6499120c-0b15-42dc-936e-847ea3c24d72": "RestStorageToAEP",
    "9753525b-82c7-4dce-8a9b-5ccfce2b9876": "CloudStorageToAEP",
    "14518937-270c-4525-bdec-c2ba7cce3860": "CRMToAEP",
    "c1a19761-d2c7-4702-b9fa-fe91f0613e81": "Streaming with transformation",
    "d8a6f005-7eaf-4153-983e-e8574508b877": "Streaming without transformation",
}
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"

SANDBOXES, CONNECTION_SPECS, FLOW_SPECS = seed_files()


def flow_spec(spec_id: str) -> dict:
    return next(spec for spec in FLOW_SPECS if spec["id"] == spec_id)


# --- the files -------------------------------------------------------------------------------
def test_three_active_sandboxes_and_one_retired():
    assert [(s["name"], s["type"], s["state"]) for s in SANDBOXES] == [
        ("prod", "production", "active"),
        ("dev", "development", "active"),
        ("stage", "development", "active"),
        ("legacy-dev", "development", "deleted"),
    ]
    assert [s["name"] for s in SANDBOXES if s["isDefault"]] == ["prod"]


def test_connection_specs_are_many_named_and_unique():
    ids = [spec["id"] for spec in CONNECTION_SPECS]
    assert len(ids) >= 20
    assert len(set(ids)) == len(ids)
    assert all(UUID.match(spec_id) for spec_id in ids)
    assert all(
        spec["name"] and spec["providerId"] and spec["version"] and spec["attributes"] for spec in CONNECTION_SPECS
    )


def test_every_referenced_connection_spec_exists():
    known = {spec["id"] for spec in CONNECTION_SPECS}
    for spec in FLOW_SPECS:
        assert set(spec["sourceConnectionSpecIds"]) <= known, spec["name"]
        assert set(spec["targetConnectionSpecIds"]) <= known, spec["name"]


def test_the_new_streaming_source_exists_and_is_attached_nowhere_yet():
    new = next(spec for spec in CONNECTION_SPECS if spec["id"] == NEW_STREAMING_SOURCE_ID)
    assert new["providerId"] == flow_spec(GENERIC_STREAMING_ID)["providerId"]
    assert all(NEW_STREAMING_SOURCE_ID not in spec["sourceConnectionSpecIds"] for spec in FLOW_SPECS)


def test_the_known_flow_specs_are_all_there():
    assert {spec["id"]: spec["name"] for spec in FLOW_SPECS} == KNOWN_FLOW_SPECS


def test_generic_streaming_is_a_complete_realistic_document():
    spec = flow_spec(GENERIC_STREAMING_ID)
    assert spec["providerId"] == "521eee4d-8cbe-4906-bb48-fb6bd4450033"
    assert len(spec["sourceConnectionSpecIds"]) >= 3
    assert spec["targetConnectionSpecIds"] == [DATA_LAKE]
    assert {"inletUrl", "errorDiagnosticsEnabled", "partialIngestionPercent"} <= set(
        spec["optionSpec"]["spec"]["properties"]
    )
    assert spec["transformationSpecs"][0]["name"] == "Mapping"
    assert spec["transformationSpecs"][0]["spec"]
    assert spec["attributes"]["frequency"] == "streaming"
    assert spec["permissionsInfo"]["view"][0]["@type"] == "lowLevel"
    assert spec["x-internalTier"], "a field nobody documented, to prove unknown fields survive"


def test_flow_spec_files_are_put_bodies_without_metadata():
    for spec in FLOW_SPECS:
        assert flowspec_body_errors(spec, path_id=spec["id"]) == [], spec["name"]
        assert not IGNORED_FIELDS & set(spec), spec["name"]


def test_flow_spec_files_satisfy_the_project_json_schema():
    schema_path = SPECS_DIR / "flowspec.schema.json"
    if not schema_path.exists():
        pytest.skip("specs/flowspec.schema.json is not written yet")
    validator = Draft202012Validator(json.loads(schema_path.read_text()))
    for spec in FLOW_SPECS:
        assert [error.message for error in validator.iter_errors(spec)] == [], spec["name"]


# --- loading ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_every_active_sandbox_gets_every_spec_stamped_with_its_metadata(settings):
    summary = seed_emulator()
    assert (summary.sandboxes, summary.flow_specs, summary.connection_specs) == (4, 18, 3 * len(CONNECTION_SPECS))
    dev = FlowSpecDocument.objects.get(sandbox__name="dev", spec_id=GENERIC_STREAMING_ID).document
    assert dev["sandboxName"] == "dev"
    assert dev["sandboxId"] == str(RemoteSandbox.objects.get(name="dev").sandbox_id)
    assert dev["imsOrgId"] == settings.ADOBE_ORG_ID
    assert dev["createdAt"] < dev["updatedAt"]
    assert {"createdBy", "createdClient", "updatedBy", "updatedClient"} <= set(dev)
    assert not FlowSpecDocument.objects.filter(sandbox__name="legacy-dev").exists()


@pytest.mark.django_db
def test_prod_lacks_one_source_id_of_dev():
    seed_emulator()
    documents = {
        row.sandbox.name: row.document
        for row in FlowSpecDocument.objects.filter(spec_id=GENERIC_STREAMING_ID).select_related("sandbox")
    }
    assert len(documents["prod"]["sourceConnectionSpecIds"]) == len(documents["dev"]["sourceConnectionSpecIds"]) - 1
    assert documents["stage"]["sourceConnectionSpecIds"] == documents["dev"]["sourceConnectionSpecIds"]


@pytest.mark.django_db
def test_seeding_twice_gives_identical_documents():
    seed_emulator()
    first = {(r.sandbox_id, r.spec_id): r.document_json for r in FlowSpecDocument.objects.all()}
    seed_emulator()
    second = {
        (RemoteSandbox.objects.get(pk=r.sandbox_id).sandbox_id, r.spec_id): r.document_json
        for r in FlowSpecDocument.objects.all()
    }
    assert sorted(first.values()) == sorted(second.values())


@pytest.mark.django_db
def test_a_reset_undoes_changes_and_forgets_faults_and_log():
    seed_emulator()
    dev = RemoteSandbox.objects.get(name="dev")
    original = FlowSpecDocument.objects.get(sandbox=dev, spec_id=GENERIC_STREAMING_ID).document
    flowspec_replace(sandbox=dev, spec_id=GENERIC_STREAMING_ID, body={**original, "name": "Renamed"}, client_id="c")
    fault_rule_add(rule={"action": "drop"})
    request_log_record(method="GET", path="/x", sandbox="dev", status=200, request_id="r")
    seed_emulator(reset=True)
    assert FlowSpecDocument.objects.get(sandbox__name="dev", spec_id=GENERIC_STREAMING_ID).document == original
    assert not FaultRule.objects.exists()
    assert not RequestLogEntry.objects.exists()


@pytest.mark.django_db
def test_without_reset_changes_are_kept_and_only_missing_data_is_added():
    seed_emulator()
    dev = RemoteSandbox.objects.get(name="dev")
    original = FlowSpecDocument.objects.get(sandbox=dev, spec_id=GENERIC_STREAMING_ID).document
    flowspec_replace(sandbox=dev, spec_id=GENERIC_STREAMING_ID, body={**original, "name": "Renamed"}, client_id="c")
    FlowSpecDocument.objects.filter(sandbox__name="prod", spec_id=GENERIC_STREAMING_ID).delete()
    summary = seed_emulator(reset=False)
    assert (summary.sandboxes, summary.flow_specs, summary.connection_specs) == (0, 1, 0)
    assert FlowSpecDocument.objects.get(sandbox=dev, spec_id=GENERIC_STREAMING_ID).document["name"] == "Renamed"
    assert FlowSpecDocument.objects.filter(spec_id=GENERIC_STREAMING_ID).count() == 3
    assert ConnectionSpecDocument.objects.count() == 3 * len(CONNECTION_SPECS)


@pytest.mark.django_db
def test_seed_demo_loads_the_emulator_then_the_demo_users(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", password="demo-pass", stdout=out)
    assert "added 4 sandboxes, 18 flow specs" in out.getvalue()
    assert FlowSpecDocument.objects.count() == 18
    assert sorted(get_user_model().objects.values_list("username", flat=True)) == [
        "approver",
        "approver2",
        "auditor",
        "staff",
    ]
    call_command("seed_demo", password="demo-pass", stdout=out)
    assert "added 0 sandboxes, 0 flow specs" in out.getvalue()


@pytest.mark.django_db
def test_seed_demo_reset_reloads_the_emulator(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    FlowSpecDocument.objects.filter(sandbox__name="dev").delete()
    call_command("seed_demo", "--reset", stdout=StringIO())
    assert FlowSpecDocument.objects.filter(sandbox__name="dev").count() == 6


@pytest.mark.django_db
def test_seed_demo_seeds_nothing_where_demo_data_is_refused(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="Demo users are only created"):
        call_command("seed_demo", stdout=StringIO())
    assert not RemoteSandbox.objects.exists()
