"""What rollout services say: one sentence per outcome or refusal (tests import them)."""

from flowadmin.rollouts import policy

# --- messages (tests import these) -------------------------------------------------------------
NOT_PROPOSER = policy.NOT_PROPOSER
NOT_APPROVER = policy.NOT_APPROVER
AUTHOR_CANNOT_APPROVE = policy.AUTHOR_CANNOT_APPROVE
ALREADY_APPROVED = policy.ALREADY_APPROVED
DIGEST_MISMATCH = (
    "This approval does not match the rollout (its sandboxes, order, bases or ids differ from what was reviewed): "
    "nothing was done. Reload the page and review it again."
)
NOT_OPEN = "Rollout #{pk} is {status}: nothing was done."
NOT_RESUMABLE = "Rollout #{pk} is {status}: only a stopped rollout can be resumed."
STILL_RUNNING = "Rollout #{pk} is being applied right now: wait for it to finish, then look again."
NEEDS_REBASE = (
    "Step {position} ({sandbox}) went stale: its remote document changed since the rollout was proposed. "
    "Rebase the step first; the approvers then review the rollout again."
)
NOT_AUTHOR = policy.NOT_AUTHOR
NOT_REBASER = policy.NOT_REBASER
NOT_REBASABLE = "Step {position} of rollout #{pk} is not a stale step of a stopped rollout: there is nothing to rebase."
COMMENT_REQUIRED = "Rejecting needs a comment that tells the author why."
REASON_REQUIRED = "Say why this rollout is needed."
NO_SANDBOX = "Pick at least one sandbox to roll out to."
NO_IDS = "Give at least one connection spec id to add or remove."
BAD_ID = "“{text}” is not a connection spec id (a UUID)."
ADDED_AND_REMOVED = "{id} is both added and removed."
DUPLICATE_SANDBOX = "Sandbox “{sandbox}” is listed twice."
NOT_CACHED = "Flow spec {spec_id} is not cached in sandbox “{sandbox}” (or that sandbox is not active)."
INVALID_PLAN = "The rollout cannot be proposed as it is: see the problems of each sandbox."
STEP_PROPOSAL_FAILED = "Sandbox “{sandbox}”: {message}"
RACE_LOST = "A change request was opened for one of these flow specs meanwhile: look at the preview again."

# What a run says when it stops (the rollout's stop_detail and the rollout.stopped event).
STOP_FAILED = "Step {position} ({sandbox}) failed: {error}. Fix the cause, then an approver resumes the rollout."
STOP_STALE = (
    "Step {position} ({sandbox}) went stale: its remote document changed since the rollout was proposed, "
    "so nothing was sent. Rebase the step; the approvers then review the rollout again."
)
STOP_UNKNOWN = (
    "Step {position} ({sandbox}): the PUT got no answer. Resume settles it by reading the flow spec back "
    "(once {seconds} s have passed) and carries on."
)
STOP_REFUSED = "Step {position} ({sandbox}) could not start: {error}"
STOP_CLOSED = "Step {position} ({sandbox}): its change request #{pk} is {status}."
STOP_FROZEN = (
    "Step {position} ({sandbox}) waits for the freeze: {freeze} Resume it once the freeze has ended, or after "
    "emergency approvals."
)
