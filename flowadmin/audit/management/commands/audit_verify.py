"""Verify the audit log: the hash chain, every signed checkpoint and every checkpoint file; say what is guaranteed."""

import datetime as dt
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.timesince import timesince

from flowadmin.audit.checkpoint_records import checkpoint_directory
from flowadmin.audit.keys import verify_keys
from flowadmin.audit.verification import VerificationReport, audit_log_verify, audit_verification_record, when_text

FAILED = "Audit log verification failed: {count} problem(s); the first affected event is #{seq}."
FAILED_NO_EVENT = "Audit log verification failed: {count} problem(s)."
SHOWN_PROBLEMS = 50


class Command(BaseCommand):
    help = (
        "Verify the audit log against its signed checkpoints and their files; exits non-zero on any problem and "
        "says through which event the log is guaranteed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=2000, help="rows fetched per round trip")
        parser.add_argument(
            "--public-key",
            action="append",
            default=[],
            help="a trusted public key (base64 or PEM; repeatable); default: AUDIT_VERIFY_KEY",
        )
        parser.add_argument(
            "--checkpoint-dir", default=None, help="the checkpoint files; default: AUDIT_CHECKPOINT_DIR"
        )
        parser.add_argument("--no-record", action="store_true", help="do not keep the outcome for the audit page")

    def handle(
        self, *args, chunk_size: int, public_key: list[str], checkpoint_dir: str | None, no_record: bool, **options
    ):
        try:
            keys = verify_keys(tuple(public_key))
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        directory = Path(checkpoint_dir) if checkpoint_dir else checkpoint_directory()
        report = audit_log_verify(keys=keys, directory=directory, chunk_size=chunk_size)
        if not no_record:
            audit_verification_record(report)
        for line in summary(report, now=timezone.now()):
            self.stdout.write(line)
        if not report.ok:
            first = report.first_problem_seq
            message = FAILED.format(count=report.problem_count, seq=first) if first is not None else None
            raise CommandError(message or FAILED_NO_EVENT.format(count=report.problem_count))
        self.stdout.write(self.style.SUCCESS("Audit log verified."))


def summary(report: VerificationReport, *, now: dt.datetime) -> list[str]:
    """What was checked, what is wrong, and exactly what is guaranteed."""
    keys = ", ".join(report.key_ids) or "none"
    files = f"{report.files_checked} checkpoint file(s) read from {report.directory}" if report.directory else ""
    lines = [
        f"Checked {report.events_checked} audit event(s) and {report.checkpoints_checked} checkpoint(s)"
        + (f"; {files}" if files else "")
        + f". Trusted key id(s): {keys}."
    ]
    if report.ok:
        lines.append(f"Audit chain intact: seq 1..{report.head_seq}, head hash {report.head_hash}.")
    else:
        lines.append(f"PROBLEMS ({report.problem_count}), in the order found:")
        lines += [f"  {problem.describe()}" for problem in report.problems[:SHOWN_PROBLEMS]]
        if report.problem_count > SHOWN_PROBLEMS:
            lines.append(f"  ... and {report.problem_count - SHOWN_PROBLEMS} more.")
    lines += _guarantee(report, now=now)
    if not report.directory:
        lines.append(
            "Checkpoint files were not compared (AUDIT_CHECKPOINT_DIR is not set): removing the newest checkpoints "
            "from the database together with the events they cover would go unseen."
        )
    return lines


def _guarantee(report: VerificationReport, *, now: dt.datetime) -> list[str]:
    if report.latest is None and report.checkpoints_checked:
        return ["Verified through: no event. No checkpoint carries a valid signature of a trusted key."]
    if report.latest is None:
        return [
            "No signed checkpoint: nothing is guaranteed against someone with database access (removing the newest "
            "events, or rewriting the chain with recomputed hashes, would go unseen)."
        ]
    verified = report.verified
    lines = []
    if verified is None:
        lines.append("Verified through: no event. No signed checkpoint matches the log before its first problem.")
    else:
        age = timesince(dt.datetime.fromisoformat(verified.at), now)
        lines.append(
            f"Verified through #{verified.last_seq}: every event up to it is intact and matches signed checkpoint "
            f"#{verified.number}, written {when_text(verified.at)} ({age} ago)."
        )
    through = report.verified_through
    if report.head_seq > through:
        events = f"events #{through + 1}..#{report.head_seq} ({report.head_seq - through})"
        if report.ok:
            lines.append(
                f"Not covered: {events} come after the last checkpoint; a change to them, or their removal, would go "
                "unseen until the next checkpoint covers them."
            )
        else:
            lines.append(f"Not guaranteed: {events}.")
    elif report.ok:
        lines.append("Every event is covered by a signed checkpoint.")
    if verified is not None:
        lines.append(
            f"Anything recorded after checkpoint #{verified.number} is beyond this guarantee: events removed since "
            "it was written cannot be detected until a later checkpoint covers them."
        )
    return lines
