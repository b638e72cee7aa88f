"""The seeded dataflows and source connections (`specs/dataflows.json`), the enriched connection specs,
and the bulk helper (`flows_generate`, `manage.py emulator_dataflows`)."""

import json
import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from flowadmin.emulator.dataflows_seed import SeedError, flows_generate
from flowadmin.emulator.models import (
    ConnectionSpecDocument,
    FlowDocument,
    FlowSpecDocument,
    RemoteSandbox,
    SourceConnectionDocument,
)
from flowadmin.emulator.seed import SPECS_DIR, dataflow_file, seed_emulator, seed_files
from tests.fixtures.emulator import GENERIC_STREAMING_ID

BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
STREAMING_PROVIDER = "521eee4d-8cbe-4906-bb48-fb6bd4450033"
SANDBOXES, CONNECTION_SPECS, FLOW_SPECS = seed_files()
DATAFLOWS = dataflow_file()


def stored(model, sandbox: RemoteSandbox) -> dict[str, dict]:
    key = "spec_id" if model in (ConnectionSpecDocument, FlowSpecDocument) else "resource_id"
    return {getattr(row, key): row.document for row in model.objects.filter(sandbox=sandbox)}


# --- the files -------------------------------------------------------------------------------
def test_every_seeded_connection_spec_has_a_category_and_sources_a_frequency():
    for spec in CONNECTION_SPECS:
        attributes = spec["attributes"]
        assert attributes["category"], spec["name"]
        if attributes["isSource"]:
            expected = "streaming" if spec["providerId"] == STREAMING_PROVIDER else "batch"
            assert attributes["frequency"] == expected, spec["name"]
    categories = {spec["attributes"]["category"] for spec in CONNECTION_SPECS}
    assert {"CRM", "Streaming", "Database", "Cloud Storage"} <= categories
    destinations = [spec["name"] for spec in CONNECTION_SPECS if spec["attributes"].get("isDestination")]
    assert "Data Lake" in destinations and len(destinations) >= 2


def test_the_dataflow_file_covers_each_active_sandbox_with_every_kind():
    frequency = {spec["id"]: spec["attributes"]["frequency"] for spec in FLOW_SPECS}
    active = [entry["name"] for entry in SANDBOXES if entry["state"] == "active"]
    assert sorted(DATAFLOWS) == sorted(active)
    for name, entry in DATAFLOWS.items():
        flows = entry["flows"]
        assert {flow["state"] for flow in flows} == {"enabled", "disabled"}, name
        assert {frequency[flow["flowSpec"]["id"]] for flow in flows} == {"streaming", "batch"}, name


def test_seed_ids_are_unique_uuids():
    ids = [
        item["id"] for entry in DATAFLOWS.values() for kind in ("sourceConnections", "flows") for item in entry[kind]
    ]
    assert len(ids) == len(set(ids))
    assert all(len(item) == 36 and item == item.lower() for item in ids)


# --- loaded ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_every_seeded_reference_exists_in_the_same_sandbox():
    summary = seed_emulator()
    assert (summary.flows, summary.source_connections) == (
        sum(len(entry["flows"]) for entry in DATAFLOWS.values()),
        sum(len(entry["sourceConnections"]) for entry in DATAFLOWS.values()),
    )
    for sandbox in RemoteSandbox.objects.filter(state=RemoteSandbox.State.ACTIVE):
        connection_specs = stored(ConnectionSpecDocument, sandbox)
        flow_specs = stored(FlowSpecDocument, sandbox)
        sources = stored(SourceConnectionDocument, sandbox)
        flows = stored(FlowDocument, sandbox)
        assert flows and sources, sandbox.name
        for source in sources.values():
            assert source["connectionSpec"]["id"] in connection_specs, source["name"]
            assert source["sandboxName"] == sandbox.name
        for flow in flows.values():
            flow_spec = flow_specs[flow["flowSpec"]["id"]]
            for source_id in flow["sourceConnectionIds"]:
                spec_id = sources[source_id]["connectionSpec"]["id"]
                assert spec_id in connection_specs, flow["name"]
                assert spec_id in flow_spec["sourceConnectionSpecIds"], flow["name"]
            assert flow["targetConnectionIds"], flow["name"]


@pytest.mark.django_db
def test_removing_braze_from_generic_streaming_in_prod_touches_two_enabled_and_one_disabled_dataflow():
    seed_emulator()
    prod = RemoteSandbox.objects.get(name="prod")
    assert BRAZE in stored(FlowSpecDocument, prod)[GENERIC_STREAMING_ID]["sourceConnectionSpecIds"]
    sources = stored(SourceConnectionDocument, prod)
    touched = [
        flow
        for flow in stored(FlowDocument, prod).values()
        if flow["flowSpec"]["id"] == GENERIC_STREAMING_ID
        and any(sources[item]["connectionSpec"]["id"] == BRAZE for item in flow["sourceConnectionIds"])
    ]
    assert sorted(flow["state"] for flow in touched) == ["disabled", "enabled", "enabled"]
    assert len({source for flow in touched for source in flow["sourceConnectionIds"]}) == 3


@pytest.mark.django_db
def test_seeding_again_without_reset_keeps_changes_and_adds_only_what_is_missing():
    seed_emulator()
    flow = FlowDocument.objects.filter(sandbox__name="dev").first()
    flow.document = {**flow.document, "state": "disabled"}
    flow.save()
    FlowDocument.objects.filter(sandbox__name="stage").first().delete()
    summary = seed_emulator(reset=False)
    assert (summary.flows, summary.source_connections) == (1, 0)
    assert FlowDocument.objects.get(pk=flow.pk).document["state"] == "disabled"


@pytest.mark.django_db
def test_seeding_twice_gives_identical_dataflow_documents():
    seed_emulator()
    first = sorted(FlowDocument.objects.values_list("document_json", flat=True))
    seed_emulator()
    assert sorted(FlowDocument.objects.values_list("document_json", flat=True)) == first


@pytest.mark.django_db
def test_a_dataflow_file_naming_a_missing_source_connection_is_refused_and_nothing_is_written(tmp_path):
    specs = tmp_path / "specs"
    shutil.copytree(SPECS_DIR, specs)
    broken = json.loads((specs / "dataflows.json").read_text())
    broken["sandboxes"]["stage"]["flows"][0]["sourceConnectionIds"] = ["00000000-0000-4000-8000-000000000000"]
    (specs / "dataflows.json").write_text(json.dumps(broken))
    with pytest.raises(SeedError, match="names source connection 00000000-0000-4000-8000-000000000000, unknown"):
        seed_emulator(specs_dir=specs)
    assert not RemoteSandbox.objects.exists()


# --- many dataflows --------------------------------------------------------------------------
@pytest.mark.django_db
def test_flows_generate_makes_consistent_dataflows_of_every_kind():
    seed_emulator()
    dev = RemoteSandbox.objects.get(name="dev")
    ids = flows_generate(sandbox=dev, count=60)
    assert len(ids) == len(set(ids)) == 60
    flows = [row.document for row in FlowDocument.objects.filter(resource_id__in=ids)]
    sources = stored(SourceConnectionDocument, dev)
    flow_specs = stored(FlowSpecDocument, dev)
    assert {flow["state"] for flow in flows} == {"enabled", "disabled"}
    assert len({flow["flowSpec"]["id"] for flow in flows}) == len(flow_specs)
    assert {flow["lastRunDetails"]["state"] for flow in flows if "lastRunDetails" in flow} == {"success", "failed"}
    for flow in flows:
        (source_id,) = flow["sourceConnectionIds"]
        assert (
            sources[source_id]["connectionSpec"]["id"] in flow_specs[flow["flowSpec"]["id"]]["sourceConnectionSpecIds"]
        )


@pytest.mark.django_db
def test_the_command_adds_dataflows_to_one_sandbox():
    seed_emulator()
    out = StringIO()
    call_command(
        "emulator_dataflows", "--sandbox", "stage", "--count", "40", "--flow-spec", GENERIC_STREAMING_ID, stdout=out
    )
    assert "Added 40 dataflows and 40 source connections to sandbox 'stage'." in out.getvalue()
    stage = FlowDocument.objects.filter(sandbox__name="stage")
    assert stage.count() == len(DATAFLOWS["stage"]["flows"]) + 40
    assert FlowDocument.objects.filter(sandbox__name="dev").count() == len(DATAFLOWS["dev"]["flows"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sandbox", "legacy-dev"], "no active sandbox 'legacy-dev'"),
        (["--sandbox", "dev", "--count", "0"], "--count must be at least 1"),
        (["--sandbox", "dev", "--flow-spec", "00000000-0000-4000-8000-000000000000"], "has no flow spec"),
    ],
)
def test_the_command_refuses_what_it_cannot_do_and_adds_nothing(args, message):
    seed_emulator()
    before = FlowDocument.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("emulator_dataflows", *args, stdout=StringIO())
    assert FlowDocument.objects.count() == before


@pytest.mark.django_db
def test_seed_demo_says_how_many_dataflows_it_added(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", password="demo-pass", stdout=out)
    flows = sum(len(entry["flows"]) for entry in DATAFLOWS.values())
    sources = sum(len(entry["sourceConnections"]) for entry in DATAFLOWS.values())
    assert f"{flows} dataflows, {sources} source connections" in out.getvalue()
    call_command("seed_demo", password="demo-pass", stdout=out)
    assert "0 dataflows, 0 source connections" in out.getvalue()
