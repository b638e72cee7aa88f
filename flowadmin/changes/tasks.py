"""The change requests' background task: every minute, settle the requests left ``applying``."""

from __future__ import annotations

from flowadmin.audit.correlation import correlation
from flowadmin.changes.services import change_requests_reconcile


def reconcile_changes() -> str:
    """What `manage.py reconcile_changes` does, on the schedule: a request left ``applying`` longer than
    FLOWADMIN_APPLY_GRACE_SECONDS (its PUT's answer lost, its process killed) is read back and settled;
    one that cannot be read now is left for the next run."""
    with correlation():
        results = change_requests_reconcile()
    lines = [
        f"#{r.change_request.pk} {r.change_request.sandbox}/{r.change_request.spec_id}: "
        + (f"left applying: {r.error}" if r.error else r.change_request.status)
        for r in results
    ]
    return "\n".join(lines) or "No change request to settle."
