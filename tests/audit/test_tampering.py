"""What someone with direct database access can do to the audit log, and how audit_verify reports it.

Each attack runs on SQLite and on PostgreSQL, where the append-only triggers are first disabled as
a superuser or the tables' owner could (`triggers_off`). Every change to the database alone that
touches an event covered by a checkpoint is found, with the first event it affects; what comes
after the last checkpoint is said to be beyond the guarantee.
"""

import io
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command, get_commands, load_command_class

from flowadmin.audit import signing
from flowadmin.audit.checkpoint_records import checkpoint_file_bytes, checkpoint_path
from flowadmin.audit.checkpoints import checkpoint_if_new
from flowadmin.audit.models import AuditCheckpoint, AuditEvent

from .conftest import APPROVAL
from .factories import bulk_events, rewrite_chain, tamper


def verify(*args: str) -> tuple[bool, str]:
    """(passed, everything audit_verify printed, its error last)."""
    out = io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError as error:
        return False, f"{out.getvalue()}{error}"
    return True, out.getvalue()


def failed_at(seq: int) -> str:
    return f"the first affected event is #{seq}."


def test_an_intact_log_verifies_and_says_how_far_its_guarantee_reaches(signed_log):
    passed, output = verify()

    assert passed, output
    assert "Checked 25 audit event(s) and 3 checkpoint(s); 3 checkpoint file(s) read" in output
    assert "Verified through #20: every event up to it is intact and matches signed checkpoint #3" in output
    assert "Not covered: events #21..#25 (5) come after the last checkpoint" in output


def test_removing_the_newest_events_after_the_last_checkpoint_is_beyond_the_guarantee(signed_log):
    tamper("DELETE FROM audit_event WHERE seq > 20")

    passed, output = verify()

    # Nothing signed says events 21..25 existed: the report says exactly what it can vouch for, no more.
    assert passed, output
    assert "Verified through #20:" in output
    assert "Anything recorded after checkpoint #3 is beyond this guarantee" in output


def test_removing_the_newest_events_up_to_a_checkpoint_is_found(signed_log):
    tamper("DELETE FROM audit_event WHERE seq > 15")

    passed, output = verify()

    assert not passed
    assert "#16: events #16..#20 are missing: signed checkpoint #3" in output
    assert "covers the log through #20, but it ends at #15" in output
    assert "Verified through #13:" in output
    assert output.endswith(failed_at(16))


def test_removing_the_newest_events_and_their_checkpoint_rows_is_found_from_the_files(signed_log):
    tamper("DELETE FROM audit_event WHERE seq > 13")
    tamper("DELETE FROM audit_checkpoint WHERE number = 3")

    passed, output = verify()

    assert not passed
    assert "#14: checkpoint #3 (events #14..#20): it is in" in output
    assert "but not in the database" in output
    assert "#14: events #14..#20 are missing" in output
    assert output.endswith(failed_at(14))


def test_an_approval_removed_and_the_chain_renumbered_and_rehashed_is_found(signed_log):
    rewrite_chain(delete_seq=APPROVAL)
    assert AuditEvent.objects.filter(action="change.approved").count() == 0

    passed, output = verify()

    # The chain links again, but the checkpoint after the approval signed another head: #11..#13 is where.
    assert not passed
    assert "#11: events #11..#13 do not match signed checkpoint #2" in output
    assert "Verified through #10:" in output
    assert output.endswith(failed_at(11))


def test_a_middle_event_updated_in_place_is_found(signed_log):
    tamper("UPDATE audit_event SET detail = %s WHERE seq = %s", ["nothing to see", 5])

    passed, output = verify()

    assert not passed
    assert "#5: content changed: the recomputed hash does not match the stored one" in output
    assert output.endswith(failed_at(5))


def test_a_middle_event_deleted_is_found(signed_log):
    tamper("DELETE FROM audit_event WHERE seq = %s", [5])

    passed, output = verify()

    assert not passed
    assert "#5: 1 event(s) missing: the chain jumps from #4 to #6" in output
    assert output.endswith(failed_at(5))


def test_two_events_swapped_are_found_at_the_first(signed_log):
    tamper("UPDATE audit_event SET seq = 1000 WHERE seq = 6")
    tamper("UPDATE audit_event SET seq = 6 WHERE seq = 5")
    tamper("UPDATE audit_event SET seq = 5 WHERE seq = 1000")

    passed, output = verify()

    assert not passed
    assert "#5: prev_hash does not match the previous event's hash" in output
    assert output.endswith(failed_at(5))


def test_the_whole_chain_rewritten_with_recomputed_hashes_is_found(signed_log):
    rewrite_chain(edit={1: {"detail": "a different first event"}})

    passed, output = verify()

    assert not passed
    assert "#1: events #1..#10 do not match signed checkpoint #1" in output
    assert "Verified through: no event." in output
    assert output.endswith(failed_at(1))


def test_checkpoints_forged_with_another_key_over_a_rewritten_chain_are_found(signed_log):
    """The thorough attacker: rewrites the chain, then re-signs every checkpoint, rows and files, with their own key."""
    rewrite_chain(delete_seq=APPROVAL)
    theirs = Ed25519PrivateKey.generate()
    tamper("DELETE FROM audit_checkpoint")
    previous = signing.GENESIS_DIGEST
    for number, last_seq in enumerate((10, 12, 19), start=1):
        head = AuditEvent.objects.get(seq=last_seq).hash
        fields = {"number": number, "last_seq": last_seq, "event_count": last_seq, "head_hash": head}
        record = signing.checkpoint_sign(
            {**fields, "at": "2025-03-01T10:00:00.000000+00:00", "previous_digest": previous}, theirs
        )
        previous = record["digest"]
        columns = {name: record[name] for name in (*signing.SIGNED_FIELDS, "digest", "signature")}
        tamper(
            f"INSERT INTO audit_checkpoint ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",  # noqa: S608
            [*columns.values()],
        )
        checkpoint_path(signed_log.directory, number).write_bytes(checkpoint_file_bytes(record))

    passed, output = verify()

    assert not passed
    assert f"it is signed with a key that is not trusted (key id {signing.key_id(theirs.public_key())})" in output
    assert "Verified through: no event." in output
    assert output.endswith(failed_at(1))


def test_a_checkpoint_added_with_another_key_is_found(signed_log):
    theirs = Ed25519PrivateKey.generate()
    latest = AuditCheckpoint.objects.get(number=3)
    head = AuditEvent.objects.get(seq=25).hash
    fields = {"number": 4, "last_seq": 25, "event_count": 25, "head_hash": head, "previous_digest": latest.digest}
    record = signing.checkpoint_sign({**fields, "at": "2030-01-01T00:00:00.000000+00:00"}, theirs)
    checkpoint_path(signed_log.directory, 4).write_bytes(checkpoint_file_bytes(record))

    passed, output = verify()

    assert not passed
    assert "#21: checkpoint #4 (events #21..#25): it is in" in output
    assert "it is signed with a key that is not trusted" in output
    assert output.endswith(failed_at(21))


def test_a_deleted_checkpoint_file_is_found(signed_log):
    checkpoint_path(signed_log.directory, 2).unlink()

    passed, output = verify()

    assert not passed
    assert "#11: checkpoint #2 (events #11..#13): its file checkpoint-000000000002.json is missing" in output
    assert output.endswith(failed_at(11))


def test_a_checkpoint_row_deleted_from_the_database_is_found(signed_log):
    tamper("DELETE FROM audit_checkpoint WHERE number = 2")

    passed, output = verify()

    assert not passed
    assert "#11: checkpoint #2 (events #11..#13): it is in" in output
    assert "but not in the database" in output
    assert output.endswith(failed_at(11))


def test_a_checkpoint_file_that_disagrees_with_its_row_is_found(signed_log):
    path = checkpoint_path(signed_log.directory, 2)
    record = json.loads(path.read_bytes())
    path.write_bytes(checkpoint_file_bytes({**record, "head_hash": "f" * 64}))

    passed, output = verify()

    assert not passed
    assert "#11: checkpoint #2 (events #11..#13): the database row and its file" in output
    assert "disagree (head_hash)" in output
    assert "its file: its digest does not match its content" in output


def test_the_checkpoint_files_can_be_given_from_elsewhere(signed_log, tmp_path):
    """An auditor verifies against their own copy of the files and the public key alone."""
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in signed_log.directory.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / "checkpoint-000000000003.json").unlink()

    passed, output = verify("--checkpoint-dir", str(copy), "--public-key", signed_log.public_text, "--no-record")

    assert not passed
    assert "#14: checkpoint #3 (events #14..#20): its file checkpoint-000000000003.json is missing" in output


def test_a_key_that_is_not_the_signing_key_verifies_nothing(signed_log):
    other = signing.public_key_text(Ed25519PrivateKey.generate().public_key())

    passed, output = verify("--public-key", other)

    assert not passed
    assert "#1: checkpoint #1 (events #1..#10): it is signed with a key that is not trusted" in output


def test_a_failed_verification_exits_non_zero(signed_log):
    tamper("DELETE FROM audit_event WHERE seq > 15")
    command = load_command_class(get_commands()["audit_verify"], "audit_verify")

    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["manage.py", "audit_verify"])

    assert exited.value.code == 1


def test_an_intact_log_read_in_many_chunks_verifies_without_a_false_alarm(transactional_db, audit_keys):
    # 12 chunks, a checkpoint inside the fifth: every chunk boundary and the checkpoint within one are checked.
    bulk_events(4_500)
    checkpoint_if_new()
    bulk_events(7_500)
    checkpoint_if_new()

    passed, output = verify("--chunk-size", "1000")

    assert passed, output
    assert "Checked 12000 audit event(s) and 2 checkpoint(s)" in output
    assert "Verified through #12000:" in output
    assert "Every event is covered by a signed checkpoint." in output
