"""The audit trail's signed checkpoints in a run: the data set's, a full verification, the cost of writing one.

The run signs with a key of its own (derived from a constant: it signs nothing but throw-away
databases) and keeps the checkpoint files in a temp folder named after the database, removed with
it. `environment()` runs before Django starts; the rest needs Django set up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_SEED = b"flowadmin bench: throw-away databases only"
CHECKPOINT_SAMPLES = 30
EVENTS_PER_APPLY = 4  # proposed, approved, apply_started, applied: what a checkpoint after an apply signs


def checkpoint_dir(database_name: str) -> Path:
    return Path(tempfile.gettempdir()) / f"flowadmin-bench-checkpoints-{Path(database_name).name}"


def environment(database_name: str) -> dict[str, str]:
    """The run's signing key and checkpoint folder, for this process and those it starts."""
    from flowadmin.audit.signing import private_key_text

    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(KEY_SEED).digest())
    return {"AUDIT_SIGNING_KEY": private_key_text(key), "AUDIT_CHECKPOINT_DIR": str(checkpoint_dir(database_name))}


def remove(database_name: str) -> None:
    shutil.rmtree(checkpoint_dir(database_name), ignore_errors=True)


def build_checkpoints(heads: list[tuple[int, str, dt.datetime]]) -> int:
    """Sign a checkpoint at each (seq, hash, time) of the data set, as the schedule would have: rows and files."""
    from flowadmin.audit import signing
    from flowadmin.audit.chain import canonical_timestamp
    from flowadmin.audit.checkpoint_records import checkpoint_directory, checkpoint_file_bytes, checkpoint_path
    from flowadmin.audit.files import write_new
    from flowadmin.audit.keys import signing_key
    from flowadmin.audit.models import AuditCheckpoint

    key, directory = signing_key(), checkpoint_directory()
    directory.mkdir(parents=True, exist_ok=True)
    rows, previous = [], signing.GENESIS_DIGEST
    for number, (seq, head_hash, at) in enumerate(heads, start=1):
        signed_at = at + dt.timedelta(seconds=1)
        fields = {"number": number, "last_seq": seq, "event_count": seq, "head_hash": head_hash}
        record = signing.checkpoint_sign(
            {**fields, "at": canonical_timestamp(signed_at), "previous_digest": previous}, key.private
        )
        previous = record["digest"]
        columns = {name: record[name] for name in (*signing.SIGNED_FIELDS, "digest", "signature") if name != "at"}
        rows.append(AuditCheckpoint(**columns, at=signed_at))
        write_new(checkpoint_path(directory, number), checkpoint_file_bytes(record))
    AuditCheckpoint.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def verify(log=print) -> dict:
    """`audit_verify` of the whole data set, in this process; its outcome is recorded for the audit page."""
    from flowadmin.audit.checkpoint_records import checkpoint_directory
    from flowadmin.audit.keys import verify_keys
    from flowadmin.audit.verification import audit_log_verify, audit_verification_record

    started = time.perf_counter()
    report = audit_log_verify(keys=verify_keys(), directory=checkpoint_directory(), chunk_size=2000)
    seconds = time.perf_counter() - started
    audit_verification_record(report)
    result = {
        "events": report.events_checked,
        "checkpoints": report.checkpoints_checked,
        "files": report.files_checked,
        "ok": report.ok,
        "verified_through": report.verified_through,
        "problems": [problem.describe() for problem in report.problems[:5]],
        "seconds": round(seconds, 2),
        "seconds_per_100k_events": round(seconds * 100_000 / max(1, report.events_checked), 2),
    }
    log(
        f"  full verification: {result['events']:,} events, {result['checkpoints']} checkpoints and files in "
        f"{result['seconds']} s ({result['seconds_per_100k_events']} s per 100,000 events), "
        f"{'intact' if report.ok else 'PROBLEMS'}"
    )
    return result


def checkpoint_cost(manifest: dict, *, samples: int = CHECKPOINT_SAMPLES, log=print) -> dict:
    """Time of `checkpoint_if_new()` after the events of one apply, each right after a timed floor request."""
    from bench import pages
    from flowadmin.audit.checkpoints import checkpoint_if_new
    from flowadmin.audit.services import audit_record

    client = pages.clients(manifest)["approver"]
    floor = next(page for page in pages.floors() if page.user == "approver")
    times, floor_times = [], []
    for sample in range(samples + 3):
        for step in range(EVENTS_PER_APPLY):
            audit_record(action="change.proposed", detail=f"bench checkpoint sample {sample}, event {step}")
        started = time.perf_counter()
        pages.request(client, floor)
        floor_time = time.perf_counter() - started
        started = time.perf_counter()
        written = checkpoint_if_new()
        elapsed = time.perf_counter() - started
        if written is None:
            raise RuntimeError("no checkpoint was written: is the run's signing key configured?")
        if sample >= 3:  # the first ones warm up
            times.append(elapsed)
            floor_times.append(floor_time)
    result = {
        "samples": len(times),
        "events_per_checkpoint": EVENTS_PER_APPLY,
        "p50_ms": round(statistics.median(times) * 1000, 2),
        "p95_ms": round(pages.percentile(times, 0.95) * 1000, 2),
        "floor_p50_ms": round(statistics.median(floor_times) * 1000, 2),
    }
    result["ratio_p50"] = round(result["p50_ms"] / result["floor_p50_ms"], 2)
    log(
        f"  checkpoint write after an apply ({EVENTS_PER_APPLY} events): p50 {result['p50_ms']} ms, "
        f"x{result['ratio_p50']} the floor ({result['floor_p50_ms']} ms)"
    )
    return result
