"""Writes of change requests: the one import path for other apps and the pages.

The work is done in the modules named after it:

* `flowadmin.changes.proposals`: propose, and the author's edit of a pending request;
* `flowadmin.changes.decisions`: approve (the last approval its sandbox needs applies it), reject,
  withdraw, retry, approve a change rebased onto the current remote document;
* `flowadmin.changes.applying`: the exactly-once apply (re-read, stale check, one PUT outside any
  transaction, verification) and the reconcile of a PUT whose answer was lost;
* `flowadmin.changes.rebasing`: rebase a stale request; check a request against the remote document.

Who may do what, and how many approvals a request needs, is `flowadmin.changes.policy` (the rule
book). Every step writes its audit event explicitly; refused attempts are recorded as failure events.
A request that is a step of a rollout is decided only through that rollout, which passes itself as
``rollout=`` to the same functions. See docs/architecture.md for the write protocol.
"""

from flowadmin.changes.applying import ReconcileResult, change_request_reconcile, change_requests_reconcile
from flowadmin.changes.common import flow_service
from flowadmin.changes.decisions import (
    change_request_approve,
    change_request_approve_rebased,
    change_request_reject,
    change_request_retry,
    change_request_withdraw,
)
from flowadmin.changes.errors import ChangeRequestConflict, ChangeRequestError, ChangeRequestForbidden, ProposalError
from flowadmin.changes.messages import *  # noqa: F403 - the messages stay importable from here
from flowadmin.changes.proposals import change_request_edit, change_request_propose
from flowadmin.changes.rebasing import RebaseFit, RemoteCheck, change_request_check, change_request_rebase, rebase_fit

__all__ = [
    "ChangeRequestConflict",
    "ChangeRequestError",
    "ChangeRequestForbidden",
    "ProposalError",
    "RebaseFit",
    "ReconcileResult",
    "RemoteCheck",
    "change_request_approve",
    "change_request_approve_rebased",
    "change_request_check",
    "change_request_edit",
    "change_request_propose",
    "change_request_rebase",
    "change_request_reconcile",
    "change_request_reject",
    "change_request_retry",
    "change_request_withdraw",
    "change_requests_reconcile",
    "flow_service",
    "rebase_fit",
]
