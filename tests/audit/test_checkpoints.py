"""Writing signed checkpoints: what they hold, when they are written, and what they refuse to sign."""

import itertools
import json
import logging
import threading

import pytest
from django.db import connection, transaction

from flowadmin.audit import checkpoints, signing
from flowadmin.audit.checkpoint_records import checkpoint_path, checkpoint_record
from flowadmin.audit.checkpoints import NO_KEY, CheckpointError, checkpoint_if_new
from flowadmin.audit.models import AuditCheckpoint, AuditEvent, AuditImmutableError
from flowadmin.audit.services import audit_record
from flowadmin.audit.verification import audit_log_verify

from .factories import bulk_events, tamper

pytestmark = pytest.mark.django_db(transaction=True)  # checkpoint files follow real commits


def keys(audit_keys) -> dict:
    return signing.keys_by_id([audit_keys.private.public_key()])


def test_a_checkpoint_signs_the_head_in_the_database_and_in_its_own_file(audit_keys):
    events = [audit_record(action="change.proposed", detail=f"step {n}") for n in range(3)]

    checkpoint = checkpoint_if_new()

    assert (checkpoint.number, checkpoint.last_seq, checkpoint.event_count) == (1, 3, 3)
    assert checkpoint.head_hash == events[-1].hash
    assert checkpoint.previous_digest == signing.GENESIS_DIGEST
    assert checkpoint.key_id == audit_keys.key_id
    record = checkpoint_record(checkpoint)
    assert signing.checkpoint_problem(record, keys(audit_keys)) is None
    assert json.loads(checkpoint_path(audit_keys.directory, 1).read_bytes()) == record


def test_each_checkpoint_names_the_digest_of_the_one_before(audit_keys):
    audit_record(action="change.proposed")
    first = checkpoint_if_new()
    audit_record(action="change.proposed")
    second = checkpoint_if_new()

    assert (second.number, second.last_seq, second.previous_digest) == (2, 2, first.digest)


def test_nothing_recorded_since_the_last_checkpoint_writes_none(audit_keys):
    audit_record(action="change.proposed")
    checkpoint_if_new()

    assert checkpoint_if_new() is None
    assert AuditCheckpoint.objects.count() == 1


def test_an_empty_log_gets_no_checkpoint(audit_keys):
    assert checkpoint_if_new() is None


def test_an_apply_outcome_is_signed_once_the_callers_transaction_commits(audit_keys):
    with transaction.atomic():
        audit_record(action="change.approved")
        applied = audit_record(action="change.applied", detail="PUT accepted")
        assert not AuditCheckpoint.objects.exists()  # not inside the caller's transaction

    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.last_seq, checkpoint.head_hash) == (2, applied.hash)
    assert checkpoint_path(audit_keys.directory, 1).exists()


@pytest.mark.parametrize(
    "action",
    ["change.apply_failed", "change.reconciled", "change.stale", "rollout.step_applied", "rollout.step_failed"],
)
def test_every_apply_outcome_is_signed(audit_keys, action):
    audit_record(action=action, outcome="failure" if "fail" in action else "success")

    assert AuditCheckpoint.objects.get().last_seq == 1


def test_other_events_wait_for_the_schedule(audit_keys):
    audit_record(action="change.proposed")
    audit_record(action="change.approved")

    assert not AuditCheckpoint.objects.exists()
    assert checkpoint_if_new().last_seq == 2


def test_a_rolled_back_apply_writes_no_checkpoint(audit_keys):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="change.applied")
        raise RuntimeError("the caller failed")

    assert not AuditEvent.objects.exists()
    assert not AuditCheckpoint.objects.exists()


def test_a_failing_checkpoint_never_breaks_the_apply_and_the_next_one_repairs_it(audit_keys, caplog):
    audit_keys.directory.parent.mkdir(parents=True, exist_ok=True)
    audit_keys.directory.write_text("a file where the directory should be")

    with caplog.at_level(logging.ERROR, logger="flowadmin.audit.checkpoints"):
        event = audit_record(action="change.applied", detail="PUT accepted")

    assert AuditEvent.objects.get(seq=event.seq).action == "change.applied"
    assert "An audit checkpoint could not be written after an apply" in caplog.text
    audit_keys.directory.unlink()  # the storage is back
    audit_record(action="change.proposed")
    checkpoint_if_new()
    assert sorted(path.name for path in audit_keys.directory.iterdir()) == [
        "checkpoint-000000000001.json",
        "checkpoint-000000000002.json",
    ]
    assert audit_log_verify(keys=keys(audit_keys), directory=audit_keys.directory).ok


def test_an_unreadable_key_file_never_breaks_the_apply(audit_keys, settings, tmp_path, caplog):
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "no-such-key")

    with caplog.at_level(logging.ERROR, logger="flowadmin.audit.checkpoints"):
        audit_record(action="change.applied")

    assert AuditEvent.objects.count() == 1
    assert not AuditCheckpoint.objects.exists()
    assert "AUDIT_SIGNING_KEY_FILE names a file that cannot be read" in caplog.text


def test_without_a_key_under_production_settings_nothing_is_signed_and_a_warning_says_so(settings, caplog, monkeypatch):
    settings.DEBUG = False
    settings.AUDIT_SIGNING_KEY = settings.AUDIT_SIGNING_KEY_FILE = ""
    monkeypatch.setattr(checkpoints, "_warned", set())  # said once a process: this test's process starts afresh
    audit_record(action="change.proposed")

    with caplog.at_level(logging.WARNING, logger="flowadmin.audit.checkpoints"):
        assert checkpoint_if_new() is None

    assert not AuditCheckpoint.objects.exists()
    assert NO_KEY in caplog.text


def test_under_debug_a_development_key_is_made_on_first_use_and_kept(settings, tmp_path):
    settings.DEBUG = True
    settings.AUDIT_SIGNING_KEY = settings.AUDIT_SIGNING_KEY_FILE = ""
    settings.AUDIT_DEV_KEY_FILE = tmp_path / "dev" / "signing-key"
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    audit_record(action="change.proposed")

    first = checkpoint_if_new()
    audit_record(action="change.proposed")
    second = checkpoint_if_new()

    key_file = tmp_path / "dev" / "signing-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert first.key_id == second.key_id
    public = signing.private_key_from_text(key_file.read_text()).public_key()
    assert audit_log_verify(keys=signing.keys_by_id([public]), directory=tmp_path / "checkpoints").ok


def test_a_checkpoint_never_signs_a_chain_broken_since_the_last_one(audit_keys):
    bulk_events(5)
    checkpoint_if_new()
    bulk_events(3)
    tamper("UPDATE audit_event SET detail = %s WHERE seq = %s", ["edited", 7])

    with pytest.raises(CheckpointError, match=r"does not extend checkpoint #1 intact \(event #7: content changed"):
        checkpoint_if_new()

    assert AuditCheckpoint.objects.count() == 1


def test_a_checkpoint_never_signs_a_log_shorter_than_the_last_one(audit_keys):
    bulk_events(5)
    checkpoint_if_new()
    tamper("DELETE FROM audit_event WHERE seq > 3")
    bulk_events(4)  # the log grows again, over the hole

    with pytest.raises(CheckpointError, match="does not extend checkpoint #1 intact"):
        checkpoint_if_new()


def test_a_checkpoint_is_refused_when_the_directory_holds_one_the_database_lost(audit_keys):
    bulk_events(3)
    checkpoint_if_new()
    bulk_events(3)
    checkpoint_if_new()
    tamper("DELETE FROM audit_checkpoint WHERE number = 2")
    bulk_events(1)

    with pytest.raises(CheckpointError, match=r"checkpoint-000000000002\.json exists already"):
        checkpoint_if_new()

    assert json.loads(checkpoint_path(audit_keys.directory, 2).read_bytes())["last_seq"] == 6  # never overwritten


def test_checkpoints_cannot_be_changed_or_deleted_through_the_application(audit_keys):
    audit_record(action="change.proposed")
    checkpoint = checkpoint_if_new()

    checkpoint.signature = "forged"
    with pytest.raises(AuditImmutableError):
        checkpoint.save()
    with pytest.raises(AuditImmutableError):
        checkpoint.delete()
    with pytest.raises(AuditImmutableError):
        AuditCheckpoint.objects.update(signature="forged")
    with pytest.raises(AuditImmutableError):
        AuditCheckpoint.objects.all().delete()


def test_concurrent_writers_never_fork_the_checkpoint_chain(audit_keys):
    threads_count, rounds = 6, 8
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait()
            for index in range(rounds):
                audit_record(action="sandbox.synced", detail=f"writer {number} #{index}")
                checkpoint_if_new()
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    written = list(AuditCheckpoint.objects.order_by("number"))
    assert [checkpoint.number for checkpoint in written] == list(range(1, len(written) + 1))
    assert written[-1].last_seq == threads_count * rounds
    for before, after in itertools.pairwise(written):
        assert after.previous_digest == before.digest and after.last_seq > before.last_seq
    assert len(list(audit_keys.directory.iterdir())) == len(written)
    assert audit_log_verify(keys=keys(audit_keys), directory=audit_keys.directory).ok


def test_the_scheduled_tasks_sign_what_was_recorded_and_record_a_full_verification(audit_keys):
    from flowadmin.audit.models import AuditCheckpoint, AuditVerification
    from flowadmin.audit.services import audit_record
    from flowadmin.audit.tasks import checkpoint_write, verify_full

    audit_record(action="sandbox.synced", sandbox="dev", detail="one")
    assert checkpoint_write().startswith("Checkpoint #1 signed through event #1")
    assert checkpoint_write().startswith("Nothing recorded since the last checkpoint")
    assert verify_full() == "Audit log verified."
    assert AuditCheckpoint.objects.count() == 1
    assert AuditVerification.objects.count() == 1
