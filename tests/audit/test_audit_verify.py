import io

import pytest
from django.core.management import CommandError, call_command

from flowadmin.audit.chain import event_hash
from flowadmin.audit.models import AuditEvent
from flowadmin.audit.services import audit_record

from .factories import bulk_events, tamper

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_events():
    return [
        audit_record(action=action, detail=f"step {n}")
        for n, action in enumerate(("change.proposed", "change.approved", "change.applied"), start=1)
    ]


def verify() -> str:
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def verify_fails() -> tuple[str, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("audit_verify", stdout=out)
    return out.getvalue(), str(failed.value)


def test_an_intact_chain_verifies_and_says_how_many_events_it_checked(three_events):
    output = verify()

    assert "Checked 3 audit event(s) and 0 checkpoint(s)" in output
    assert f"Audit chain intact: seq 1..3, head hash {three_events[-1].hash}" in output


def test_without_a_checkpoint_the_report_says_nothing_is_guaranteed_against_database_access(three_events):
    output = verify()

    assert "No signed checkpoint: nothing is guaranteed against someone with database access" in output
    assert "Checkpoint files were not compared (AUDIT_CHECKPOINT_DIR is not set)" in output


def test_an_empty_audit_log_verifies():
    assert "Checked 0 audit event(s)" in verify()


def test_a_long_chain_verifies_in_chunks():
    bulk_events(450)
    out = io.StringIO()
    call_command("audit_verify", "--chunk-size", "100", stdout=out)
    assert "Checked 450 audit event(s)" in out.getvalue()


def test_changed_content_is_caught_at_that_event(three_events):
    tamper("UPDATE audit_event SET detail = %s WHERE seq = %s", ["nothing to see", 2])

    output, error = verify_fails()

    assert "#2: content changed: the recomputed hash does not match the stored one" in output
    assert f"found {three_events[1].hash}" in output
    assert error == "Audit log verification failed: 1 problem(s); the first affected event is #2."


def test_a_changed_actor_username_is_caught(three_events):
    tamper("UPDATE audit_event SET actor_username = %s WHERE seq = %s", ["someone-else", 3])

    output, _ = verify_fails()

    assert "#3: content changed" in output


def test_a_rewritten_prev_hash_is_caught_at_that_event(three_events):
    tamper("UPDATE audit_event SET prev_hash = %s WHERE seq = %s", ["f" * 64, 2])

    output, error = verify_fails()

    assert "#2: prev_hash does not match the previous event's hash" in output
    assert f"expected {three_events[0].hash}, found {'f' * 64}" in output
    assert error.endswith("the first affected event is #2.")


def test_an_event_rewritten_with_a_recomputed_hash_breaks_the_next_link(three_events):
    forged = AuditEvent.objects.get(seq=2)
    forged.detail = "forged"
    tamper("UPDATE audit_event SET detail = %s, hash = %s WHERE seq = %s", ["forged", event_hash(forged), 2])

    output, error = verify_fails()

    assert "#3: prev_hash does not match" in output
    assert error.endswith("the first affected event is #3.")


def test_a_removed_event_is_caught_as_a_gap(three_events):
    tamper("DELETE FROM audit_event WHERE seq = %s", [2])

    output, error = verify_fails()

    assert "#2: 1 event(s) missing: the chain jumps from #1 to #3" in output
    assert error.endswith("the first affected event is #2.")


def test_a_failed_verification_exits_non_zero(three_events):
    tamper("UPDATE audit_event SET detail = %s WHERE seq = %s", ["x", 1])
    from django.core.management import get_commands, load_command_class

    command = load_command_class(get_commands()["audit_verify"], "audit_verify")
    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["manage.py", "audit_verify"])
    assert exited.value.code == 1
