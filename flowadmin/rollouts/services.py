"""Writes of rollouts: propose, approve, apply sandbox by sandbox, resume, rebase a stale step, reject, withdraw.

How a rollout keeps the guarantees of a single change request:

* every step *is* a change request (created ``pending`` for all sandboxes at proposal), applied by
  `flowadmin.changes.services.change_request_approve` (first attempt) or `change_request_retry`
  (after a failure: re-read, stale check, PUT; an outcome left unknown is reconciled first) with
  ``rollout=`` — the same code path, so the same stale check, exactly-once PUT, verification, cache
  update (origin flowadmin) and audit events with their HTTP details;
* a run *claims* the rollout with a conditional UPDATE (``pending``/``stopped`` -> ``applying`` with a
  fresh token) and every later write of the run is conditional on that token: of two approvers or
  resumers clicking at once exactly one runs; no transaction is open across an HTTP call (the change
  request functions commit ``applying`` before their PUT);
* steps run in order and the run stops at the first step that does not end ``applied`` (failed,
  stale, outcome unknown): ``stopped``, with the step and the reason. Resume claims it again and
  carries on from that step; applied steps are skipped, so no sandbox gets a second PUT;
* approvals are bound to the rollout's digest (every step's sandbox, base hash, ids, and their
  order); a step does not start before the approvals its sandbox's tier requires (the rule book,
  `flowadmin.rollouts.policy`: distinct approvers, never the author, superusers included);
* a run that reaches a step without enough approvals gives the rollout back (``pending``) and then
  looks again, so an approval that landed meanwhile is never lost; a step a freeze holds stops the
  rollout (resumed after the freeze, or after emergency approvals);
* every action writes its ``rollout.*`` audit event (detail ``"Rollout #<pk>: ..."``); refusals are
  recorded as failure events.
"""

from flowadmin.rollouts.decisions import (  # noqa: F401
    rollout_approve,
    rollout_reject,
    rollout_resume,
    rollout_step_rebase,
    rollout_withdraw,
)
from flowadmin.rollouts.errors import RolloutConflict, RolloutError, RolloutForbidden, RolloutProposalError  # noqa: F401
from flowadmin.rollouts.messages import *  # noqa: F403
from flowadmin.rollouts.proposals import rollout_propose  # noqa: F401
