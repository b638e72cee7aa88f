"""scripts/verify_audit_export.py: an auditor checks an export with the public key alone, without Django.

The script recomputes event hashes on its own; these tests prove it agrees with the application
(`flowadmin.audit.chain`) on real exports, on SQLite and on PostgreSQL (whose jsonb reorders keys
and rewrites numbers), and that it finds what an edited export hides.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flowadmin.audit import signing
from flowadmin.audit.models import AuditEvent
from flowadmin.audit.services import audit_record

from .conftest import PUT_OK

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "verify_audit_export.py"
EXPORT = "/audit/export.jsonl"
# Integral floats beyond 2**53 are left out: jsonb keeps the decimal Python prints for them, which is not
# the float's own value, and the chain's hash (flowadmin.audit.chain._normalise) follows the float.
FLOATS = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda value: abs(value) < 2**53 or not value.is_integer()
)
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | FLOATS | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)


def load_script():
    spec = importlib.util.spec_from_file_location("verify_audit_export", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verifier = load_script()


def export(client, **params) -> list[str]:
    response = client.get(EXPORT, params)
    assert response.status_code == 200
    # JSON Lines are split at "\n" only (str.splitlines would also split at U+0085 or U+2028 inside a value).
    return b"".join(response.streaming_content).decode().rstrip("\n").split("\n")


def run_script(tmp_path, lines: list[str], *keys: str) -> subprocess.CompletedProcess:
    """The script as an auditor runs it: its own process, where importing Django fails."""
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines) + "\n")
    blocker = tmp_path / "no-django" / "django"
    blocker.mkdir(parents=True, exist_ok=True)
    (blocker / "__init__.py").write_text("raise ImportError('the auditor has no Django')\n")
    arguments = [argument for key in keys for argument in ("--public-key", key)]
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(path), *arguments],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(blocker.parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def line_of(lines: list[str], seq: int) -> int:
    """The 1-based line number of event `seq`."""
    return next(
        number
        for number, line in enumerate(lines, 1)
        if "type" not in json.loads(line) and json.loads(line)["seq"] == seq
    )


def edited(lines: list[str], seq: int, **changes) -> list[str]:
    number = line_of(lines, seq)
    record = {**json.loads(lines[number - 1]), **changes}
    return [*lines[: number - 1], json.dumps(record), *lines[number:]]


@pytest.mark.django_db
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=JSON, after=JSON, detail=TEXT)
def test_the_script_computes_every_events_hash_as_the_application_does(auditor_client, before, after, detail):
    event = audit_record(action="change.applied", before=before, after=after, http=PUT_OK, detail=detail, spec_id="s")

    lines = export(auditor_client, since=event.at.isoformat())
    records = [json.loads(line) for line in lines]
    [record] = [record for record in records if "type" not in record and record["seq"] == event.seq]
    [search] = [record for record in records if record.get("type") == "search_text" and record["seq"] == event.seq]

    assert verifier.event_hash(record, search["search_text"]) == AuditEvent.objects.get(seq=event.seq).hash


def test_a_real_export_verifies_with_the_public_key_alone_and_no_django(signed_log, auditor_client, tmp_path):
    result = run_script(tmp_path, export(auditor_client), signed_log.public_text)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Export: complete, 25 event(s) (#1..#25), 3 checkpoint(s), 3 with a valid signature" in result.stdout
    assert "Verified through #20: every event up to it is intact and matches signed checkpoint #3" in result.stdout
    assert "Not covered: events #21..#25 (5) after the last checkpoint in this export" in result.stdout


def test_an_edited_event_line_is_reported_at_its_event(signed_log, auditor_client, tmp_path):
    lines = export(auditor_client)
    tampered = edited(lines, 12, detail="Rejected")

    result = run_script(tmp_path, tampered, signed_log.public_text)

    assert result.returncode == 1
    assert f"#12: line {line_of(lines, 12)}: content changed: the recomputed hash does not match" in result.stdout
    assert "Proven by signed checkpoints: 17 event(s): #1..#10, #14..#20." in result.stdout
    assert "FAILED" in result.stdout


def test_an_export_rewritten_with_recomputed_hashes_fails_at_the_next_checkpoint(signed_log, auditor_client, tmp_path):
    lines = export(auditor_client)
    records = [json.loads(line) for line in lines]
    search = {record["seq"]: record["search_text"] for record in records if record.get("type") == "search_text"}
    previous = None
    for record in records:
        if "type" in record:
            continue
        if record["seq"] == 12:
            record["detail"] = "Rejected"
        if previous is not None and record["seq"] > 12:
            record["prev_hash"] = previous
        if record["seq"] >= 12:
            record["hash"] = verifier.event_hash(record, search[record["seq"]])
        previous = record["hash"]

    result = run_script(tmp_path, [json.dumps(record) for record in records], signed_log.public_text)

    assert result.returncode == 1
    assert "#11: line" in result.stdout
    assert "events #11..#13 do not match signed checkpoint #2" in result.stdout


def test_a_checkpoint_line_signed_with_another_key_is_reported(signed_log, auditor_client, tmp_path):
    lines = export(auditor_client)
    theirs = Ed25519PrivateKey.generate()
    number = next(n for n, line in enumerate(lines, 1) if json.loads(line).get("number") == 2)
    record = json.loads(lines[number - 1])
    forged = signing.checkpoint_sign({name: record[name] for name in signing.SIGNED_FIELDS}, theirs)
    lines[number - 1] = json.dumps(forged)

    result = run_script(tmp_path, lines, signed_log.public_text)

    assert result.returncode == 1
    assert f"#11: line {number}: checkpoint #2: it is signed with a key that is not trusted" in result.stdout


def test_a_removed_event_line_is_reported_in_a_complete_export(signed_log, auditor_client, tmp_path):
    lines = export(auditor_client)
    number = line_of(lines, 12)

    result = run_script(tmp_path, [*lines[: number - 1], *lines[number + 1 :]], signed_log.public_text)

    assert result.returncode == 1
    assert "#12: event #12 is missing from this complete export" in result.stdout


def test_an_export_cut_short_is_reported(signed_log, auditor_client, tmp_path):
    lines = export(auditor_client)

    result = run_script(tmp_path, lines[: line_of(lines, 13) + 2], signed_log.public_text)

    assert result.returncode == 1
    assert "made with checkpoints through #3, but the last one in it is #2: its end is missing" in result.stdout


def test_a_filtered_export_proves_the_runs_that_reach_a_checkpoint(signed_log, auditor_client, tmp_path):
    lines = export(auditor_client, sandbox="bulk")  # events 1..10 and 14..25: the change's 11..13 are filtered out

    result = run_script(tmp_path, lines, signed_log.public_text)

    assert result.returncode == 0, result.stdout
    assert 'Export: filtered ({"sandbox": "bulk"}), 22 event(s) (#1..#25)' in result.stdout
    assert "Proven by signed checkpoints: 17 event(s): #1..#10, #14..#20." in result.stdout
    assert "Not proven: 5 event(s)" in result.stdout


def test_event_lines_are_unchanged_and_every_other_line_says_its_type(signed_log, auditor_client):
    records = [json.loads(line) for line in export(auditor_client)]

    assert records[0] == {**records[0], "type": "export", "format": 1, "complete": True, "last_checkpoint": 3}
    events = [record for record in records if "type" not in record]
    assert [event["seq"] for event in events] == list(range(1, 26))
    assert all(set(event) == set(records[1]) for event in events)
    assert "search_text" not in records[1]
    kinds = [record["type"] if "type" in record else f"event {record['seq']}" for record in records[19:25]]
    assert kinds == ["event 10", "search_text", "checkpoint", "event 11", "search_text", "event 12"]
    checkpoint = records[21]
    assert (checkpoint["number"], checkpoint["last_seq"]) == (1, 10)
    assert set(checkpoint) == set(signing.RECORD_FIELDS)


def test_without_a_key_the_script_says_what_it_needs(signed_log, auditor_client, tmp_path):
    result = run_script(tmp_path, export(auditor_client))

    assert result.returncode == 2
    assert "Give the public key of the checkpoints" in result.stderr
