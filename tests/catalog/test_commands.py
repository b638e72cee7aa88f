import io
import json

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from flowadmin.catalog.exports import ExportError, contained_path, safe_filename
from flowadmin.catalog.models import FlowSpec, Sandbox
from tests.catalog.factories import make_flowspec, make_sandbox, numbered_id
from tests.catalog.fakes import STREAMING_ID


def run_command(*argv) -> int:
    """Run a management command as `manage.py` would; its exit status."""
    try:
        ManagementUtility(["manage.py", *argv]).execute()
    except SystemExit as exit:
        return exit.code
    return 0


# --- sync_flowspecs -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_sync_flowspecs_prints_a_line_per_sandbox_and_a_summary(fake_client, capsys):
    assert run_command("sync_flowspecs") == 0

    out = capsys.readouterr().out
    assert "dev: ok (2 new, 0 changed, 0 unchanged, 0 vanished; 3 connection specs)" in out
    assert "prod: ok (2 new" in out
    assert "2 sandbox(es): 2 ok, 0 failed." in out


@pytest.mark.django_db
def test_sync_flowspecs_exits_non_zero_and_says_why_when_a_sandbox_fails(fake_client, capsys):
    fake_client.fail("connectionSpecs", "prod")

    assert run_command("sync_flowspecs") == 1

    captured = capsys.readouterr()
    assert (
        "prod: failed (Internal server error: Something broke (HTTP 500, code FLOW-1102-500, request id req-500))"
        in (captured.out)
    )
    assert "dev: ok" in captured.out
    assert "1 of 2 sandbox(es) failed." in captured.err


@pytest.mark.django_db
def test_sync_flowspecs_can_sync_one_sandbox(fake_client):
    call_command("sync_flowspecs", "--sandbox", "dev", stdout=io.StringIO())

    assert fake_client.listings("dev") == 1 and fake_client.listings("prod") == 0


@pytest.mark.django_db
def test_sync_flowspecs_refuses_an_unknown_sandbox(fake_client):
    with pytest.raises(CommandError, match="1 of 1"):
        call_command("sync_flowspecs", "--sandbox", "nope", stdout=io.StringIO())
    assert not Sandbox.objects.filter(name="nope").exists()


@pytest.mark.django_db
def test_sync_flowspecs_fails_when_the_sandboxes_cannot_be_listed(fake_client):
    fake_client.fail("sandboxes", None)

    with pytest.raises(CommandError, match="Could not list the sandboxes"):
        call_command("sync_flowspecs", stdout=io.StringIO())


# --- export_flowspecs ---------------------------------------------------------------------------
@pytest.fixture
def cached(db):
    dev = make_sandbox("dev")
    make_flowspec(dev, STREAMING_ID, "GenericStreamingAEP")
    make_flowspec(dev, numbered_id(1), "Twin")
    make_flowspec(dev, numbered_id(2), "Twin")
    make_flowspec(make_sandbox("prod"), numbered_id(3), "CRMToAEP")
    return dev


def test_export_writes_one_sorted_pretty_json_file_per_sandbox_and_spec(cached, tmp_path):
    call_command("export_flowspecs", str(tmp_path), stdout=io.StringIO())

    files = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*.json"))
    assert files == [
        "dev/GenericStreamingAEP.json",
        f"dev/Twin--{numbered_id(1)}.json",
        f"dev/Twin--{numbered_id(2)}.json",
        "prod/CRMToAEP.json",
    ]
    text = (tmp_path / "dev" / "GenericStreamingAEP.json").read_text()
    assert text.endswith("}\n")
    assert json.loads(text) == FlowSpec.objects.get(spec_id=STREAMING_ID).document
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_export_is_stable_from_one_run_to_the_next(cached, tmp_path, capsys):
    call_command("export_flowspecs", str(tmp_path / "a"))
    first = capsys.readouterr().out.splitlines()[:-1]
    call_command("export_flowspecs", str(tmp_path / "b"))
    second = capsys.readouterr().out.splitlines()[:-1]

    assert first == second
    for path in (tmp_path / "a").rglob("*.json"):
        assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()


def test_export_leaves_out_vanished_specs(cached, tmp_path):
    FlowSpec.objects.filter(name="CRMToAEP").update(vanished_at="2024-01-01T00:00:00Z")

    call_command("export_flowspecs", str(tmp_path), stdout=io.StringIO())

    assert not (tmp_path / "prod").exists()


@pytest.mark.django_db
def test_export_keeps_hostile_remote_names_inside_the_directory(tmp_path):
    hostile = Sandbox.objects.create(name="../../etc")
    make_flowspec(hostile, numbered_id(1), "../../etc/passwd")
    make_flowspec(make_sandbox("dev"), numbered_id(2), "..")
    target = tmp_path / "out"

    call_command("export_flowspecs", str(target), stdout=io.StringIO())

    written = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())
    assert written == ["out/dev/" + numbered_id(2) + ".json", "out/etc/etc_passwd.json"]


def test_writing_outside_the_directory_is_refused(tmp_path):
    with pytest.raises(ExportError, match="outside"):
        contained_path(tmp_path, "..", "escape.json")
    (tmp_path / "link").symlink_to(tmp_path.parent)
    with pytest.raises(ExportError, match="outside"):
        contained_path(tmp_path, "link", "escape.json")
    assert contained_path(tmp_path, "dev", "x.json") == tmp_path.resolve() / "dev" / "x.json"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("GenericStreamingAEP", "GenericStreamingAEP"), ("a/b\\c d", "a_b_c_d"), ("....", "fallback"), ("", "fallback")],
)
def test_safe_filenames_have_no_separators_or_leading_dots(name, expected):
    assert safe_filename(name, fallback="fallback") == expected
