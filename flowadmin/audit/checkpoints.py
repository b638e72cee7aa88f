"""Signed checkpoints of the audit chain, like CloudTrail's digest files.

A checkpoint states the last event it covers, that event's hash (the chain's head), the number of
events, the time and the digest of the previous checkpoint, signed with Ed25519
(`flowadmin.audit.signing`). It is written to the database (append-only, like the events) and,
once committed, as one file in ``AUDIT_CHECKPOINT_DIR``. Before signing, the events since the
previous checkpoint are checked against it: a checkpoint never signs a chain that does not extend
the last one intact.

When: `audit_record` schedules one (`transaction.on_commit`) after every apply outcome
(`CHECKPOINT_ACTIONS`), and `checkpoint_if_new()` (``manage.py audit_checkpoint``) writes one
whenever anything was recorded since the last: run it every 5 minutes.

Writers are serialised as the chain's are: a transaction-scoped advisory lock on PostgreSQL,
SQLite's IMMEDIATE transactions; so two processes never fork the checkpoint chain.
"""

import logging
from contextlib import closing
from pathlib import Path

from django.db import connections, router, transaction
from django.utils import timezone

from flowadmin.audit import signing
from flowadmin.audit.chain import canonical_timestamp, event_breaks
from flowadmin.audit.checkpoint_records import (
    checkpoint_directory,
    checkpoint_file_bytes,
    checkpoint_path,
    checkpoint_record,
)
from flowadmin.audit.files import write_new
from flowadmin.audit.keys import signing_key
from flowadmin.audit.models import GENESIS_HASH, AuditAction, AuditCheckpoint, AuditEvent

logger = logging.getLogger(__name__)

CHECKPOINT_LOCK_KEY = 0x617564697470  # "auditp": pg_advisory_xact_lock key of the checkpoint chain
CHUNK_SIZE = 2000
# After an apply, a checkpoint waits for the schedule rather than check more events than this in a request.
AFTER_COMMIT_MAX_EVENTS = 2000
# The outcomes of applying a change: each is signed as soon as it is committed.
CHECKPOINT_ACTIONS = frozenset(
    {
        AuditAction.CHANGE_APPLIED,
        AuditAction.CHANGE_APPLY_FAILED,
        AuditAction.CHANGE_STALE,
        AuditAction.CHANGE_RECONCILED,
        AuditAction.ROLLOUT_STEP_APPLIED,
        AuditAction.ROLLOUT_STEP_FAILED,
        AuditAction.ROLLOUT_COMPLETED,
    }
)

NO_KEY = (
    "Audit checkpoints are not written: no signing key is configured "
    "(AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE; see manage.py audit_keygen)."
)
NO_DIRECTORY = "Audit checkpoint files are not written: AUDIT_CHECKPOINT_DIR is not set."
TAIL_MISSING = (
    "No checkpoint written: the audit log ends at event #{head}, but checkpoint #{number} covers it through "
    "#{last_seq}: events were removed. Run manage.py audit_verify."
)
CHAIN_BROKEN = (
    "No checkpoint written: the chain does not extend {since} intact ({description}). Run manage.py audit_verify."
)
FILE_TAKEN = (
    "No checkpoint written: {path} exists already, but the database's last checkpoint is #{latest}: "
    "checkpoints were removed from the database. Run manage.py audit_verify."
)
AFTER_COMMIT_FAILED = "An audit checkpoint could not be written after an apply; the next one will cover its events"
DEFERRED = "{count} events since the last audit checkpoint: the next scheduled checkpoint will check and sign them"


class CheckpointError(Exception):
    """A checkpoint was refused: what it would sign does not extend the last one."""


class TooManyEvents(Exception):
    """More events to check than the caller allows (`max_events`)."""


def checkpoint_if_new(*, max_events: int | None = None) -> AuditCheckpoint | None:
    """Write a checkpoint if anything was recorded since the last one; None when nothing was (or no key).

    Call it outside any transaction: its file is written once its row is committed. Raises
    `CheckpointError` when the log no longer extends the last checkpoint (it signs nothing then),
    `TooManyEvents` when more than ``max_events`` events would have to be checked first.
    """
    key = signing_key()
    if key is None:
        _warn_once(NO_KEY)
        return None
    using = router.db_for_write(AuditCheckpoint)
    if not _anything_new(using):
        return None
    directory = checkpoint_directory()
    if directory is None:
        _warn_once(NO_DIRECTORY)
    with transaction.atomic(using=using):
        _lock(using)
        latest = AuditCheckpoint.objects.using(using).order_by("-number").first()
        if latest is not None and directory is not None:
            checkpoint_file_write(directory, latest)  # lost after its commit (a crash): signed, so safe to write again
        head = _chain_head_checked(using, latest, max_events)
        if head is None:
            return None
        number = latest.number + 1 if latest else 1
        if directory is not None and checkpoint_path(directory, number).exists():
            raise CheckpointError(FILE_TAKEN.format(path=checkpoint_path(directory, number), latest=number - 1))
        now = timezone.now()
        record = signing.checkpoint_sign(
            {
                "number": number,
                "last_seq": head[0],
                "event_count": head[0],  # seq is gap-free from 1
                "head_hash": head[1],
                "at": canonical_timestamp(now),
                "previous_digest": latest.digest if latest else signing.GENESIS_DIGEST,
            },
            key.private,
        )
        fields = {name: record[name] for name in signing.SIGNED_FIELDS if name != "at"}
        checkpoint = AuditCheckpoint.objects.using(using).create(
            **fields, at=now, digest=record["digest"], signature=record["signature"]
        )
        if directory is not None:
            transaction.on_commit(lambda: checkpoint_file_write(directory, checkpoint), using=using)
    return checkpoint


def checkpoint_after_commit() -> None:
    """`audit_record`'s hook after an apply outcome commits: a checkpoint, and never an exception."""
    try:
        checkpoint_if_new(max_events=AFTER_COMMIT_MAX_EVENTS)
    except TooManyEvents as many:
        logger.info(DEFERRED.format(count=many.args[0]))
    except Exception:
        logger.exception(AFTER_COMMIT_FAILED)


def checkpoint_file_write(directory: Path, checkpoint: AuditCheckpoint) -> bool:
    """Write the checkpoint's file unless it is there; FileExistsError if another is there in its place."""
    directory.mkdir(parents=True, exist_ok=True)
    return write_new(
        checkpoint_path(directory, checkpoint.number), checkpoint_file_bytes(checkpoint_record(checkpoint))
    )


def _anything_new(using: str) -> bool:
    # Without the lock: the common "nothing new" answer must cost two index lookups, not a transaction.
    head = AuditEvent.objects.using(using).order_by("-seq").values_list("seq", flat=True).first()
    latest = AuditCheckpoint.objects.using(using).order_by("-number").values_list("last_seq", flat=True).first()
    return head is not None and head != latest


def _chain_head_checked(using: str, latest: AuditCheckpoint | None, max_events: int | None) -> tuple[int, str] | None:
    """(seq, hash) of the head once the events since `latest` are checked; None when there are none."""
    head_seq = AuditEvent.objects.using(using).order_by("-seq").values_list("seq", flat=True).first()
    start_seq = latest.last_seq if latest else 0
    if head_seq is None or head_seq == start_seq:
        return None
    if head_seq < start_seq:
        raise CheckpointError(TAIL_MISSING.format(head=head_seq, number=latest.number, last_seq=latest.last_seq))
    if max_events is not None and head_seq - start_seq > max_events:
        raise TooManyEvents(head_seq - start_seq)
    events = AuditEvent.objects.using(using).filter(seq__gte=max(start_seq, 1), seq__lte=head_seq).order_by("seq")
    expected_seq, previous_hash = start_seq + 1, latest.head_hash if latest else GENESIS_HASH
    with closing(events.iterator(chunk_size=CHUNK_SIZE)) as rows:
        for event in rows:
            if latest is not None and event.seq == latest.last_seq:
                if event.hash != latest.head_hash:
                    raise _broken(latest, f"event #{event.seq} no longer has the hash it signed")
                continue
            breaks = event_breaks(event, expected_seq=expected_seq, previous_hash=previous_hash)
            if breaks:
                raise _broken(latest, breaks[0].describe())
            expected_seq, previous_hash = event.seq + 1, event.hash
    if expected_seq - 1 != head_seq:
        raise _broken(latest, f"event #{expected_seq} is missing")
    return head_seq, previous_hash


def _broken(latest: AuditCheckpoint | None, description: str) -> CheckpointError:
    since = f"checkpoint #{latest.number}" if latest else "the first event"
    return CheckpointError(CHAIN_BROKEN.format(since=since, description=description))


def _lock(using: str) -> None:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHECKPOINT_LOCK_KEY])
    # SQLite: the project opens every transaction IMMEDIATE, which already serialises writers.


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)
