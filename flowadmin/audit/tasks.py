"""The audit trail's background tasks: a signed checkpoint every 5 minutes (when anything was recorded),
and the full verification every night, whose outcome the audit page shows."""

from __future__ import annotations

from flowadmin.audit.checkpoint_records import checkpoint_directory
from flowadmin.audit.checkpoints import checkpoint_if_new
from flowadmin.audit.keys import verify_keys
from flowadmin.audit.verification import audit_log_verify, audit_verification_record


def checkpoint_write() -> str:
    """What `manage.py audit_checkpoint` does: sign the events recorded since the last checkpoint."""
    checkpoint = checkpoint_if_new()
    if checkpoint is None:
        return "Nothing recorded since the last checkpoint (or no signing key): no checkpoint written."
    return f"Checkpoint #{checkpoint.number} signed through event #{checkpoint.last_seq}."


def verify_full() -> str:
    """What `manage.py audit_verify` does, recorded for the audit page."""
    report = audit_log_verify(keys=verify_keys(()), directory=checkpoint_directory())
    audit_verification_record(report)
    if report.ok:
        return "Audit log verified."
    return f"{report.problem_count} problem(s); the first affects event #{report.first_problem_seq}."
