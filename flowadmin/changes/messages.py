"""What the change-request services say: one sentence each, for people (tests import them)."""

from flowadmin.changes import policy

# The rules' messages live with the rules (`flowadmin.changes.policy`); these names stay importable here.
NOT_PROPOSER = policy.NOT_PROPOSER
NOT_APPROVER = policy.NOT_APPROVER
FOUR_EYES = policy.FOUR_EYES
NOT_AUTHOR = policy.NOT_AUTHOR
NOT_REBASER = policy.NOT_REBASER
ROLLOUT_STEP = policy.ROLLOUT_STEP
NOT_ROLLOUT_STEP = policy.NOT_ROLLOUT_STEP
DIGEST_MISMATCH = (
    "This approval does not match the change request (its ids or base differ from what was reviewed): "
    "nothing was sent. Reload the page and review it again."
)
ALREADY_DECIDED = "Change request #{pk} is {status} already: nothing was done."
REASON_REQUIRED = "Say why this change is needed."
COMMENT_REQUIRED = "Rejecting needs a comment that tells the author why."
INVALID_IDS = "Some lines of the id list are not valid: see the messages beside them."
NOTHING_CHANGES = "This proposal changes nothing: it adds and removes no connection spec id."
EMPTY_NEEDS_CONFIRMATION = "The list is empty: confirm that the flow spec should list no source connection spec at all."
OPEN_REQUEST_EXISTS = (
    "Change request #{pk} is already open for this flow spec: it must be decided (or withdrawn by its author) "
    "before another change can be proposed."
)
NOT_RETRYABLE = "Only a failed change request can be retried; #{pk} is {status}."
OTHER_REQUEST_OPEN = "Another change request (#{pk}) is open for this flow spec now: decide that one instead."
APPLY_IN_PROGRESS = (
    "Change request #{pk} is being applied right now (started less than {seconds} s ago): "
    "wait for it to finish, then check again."
)
RECONCILE_READ_FAILED = "Could not read the flow spec to settle change request #{pk}: {error}"
NOT_REBASABLE = "Only a stale change request that was not rebased yet can be rebased; #{pk} is {status}."
REBASE_NOTHING_LEFT = (
    "The current remote document already has this change (its ids are added or removed already): "
    "rebasing would change nothing. Withdraw the request instead."
)
REBASE_INVALID = "The change no longer applies cleanly to the current remote document: {problems}"
ALREADY_APPROVED_RETRY = "Change request #{pk} has the approvals it needs: retry it instead."
REMOTE_READ_FAILED = "Could not read the remote document: {error}. Nothing was approved or sent; try again."
SPEC_GONE = "The flow spec is no longer cached in this sandbox: sync the sandbox, then propose again."
REMOTE_MOVED = (
    "The remote document changed again since the page showed it: nothing was approved or sent. "
    "Look at the new difference and decide again."
)
APPLIES_AS_IS = "The remote document is still the request's base: approve the request itself, no rebase is needed."
NOT_CLEAN = "The change does not apply cleanly to the current remote document: {why}"
IMPACT_NOT_ACKNOWLEDGED = (
    "Removing {what} affects {enabled} enabled dataflow{plural} in {sandbox} ({count} in all): look at them in "
    "the preview, then tick “I have checked these {count} dataflows” to propose it."
)
IMPACT_CHANGED = (
    "The dataflows that depend on the removal changed since you checked them ({count} now, not {acknowledged}): "
    "look at them again in the preview and tick the box once more."
)
# Errors flowadmin records on a request itself (no remote error to quote).
TITLE_SCHEMA_INVALID = "Document fails the flow spec schema"
CODE_SCHEMA_INVALID = "schema-invalid"
TITLE_VERIFICATION = "Change not found after the PUT"
CODE_VERIFICATION = "verification-failed"
ANSWER_MISMATCH = "The PUT was answered with sourceConnectionSpecIds {found}, not the expected {expected}."
READBACK_MISMATCH = "Reading the flow spec back gave sourceConnectionSpecIds {found}, not the expected {expected}."
TITLE_NOT_APPLIED = "Not applied"
CODE_NOT_APPLIED = "not-applied"
NOT_APPLIED_DETAIL = "Reading the flow spec back showed that the PUT did not take effect; it can be retried."

TITLE_IMPACT_UNKNOWN = "Dependent dataflows could not be read"
CODE_IMPACT_UNKNOWN = "impact-unknown"
IMPACT_UNKNOWN_DETAIL = (
    "The removal is applied only once flowadmin can tell which dataflows use the removed ids, and none appeared "
    "since the review: {error}. Nothing was sent; retry when the Flow Service answers."
)
IMPACT_STALE_DETAIL = (
    "Dataflows that use a removed id appeared or were enabled since the request was reviewed: {new}. Nothing was "
    "sent; rebase the request to review them."
)

MAX_ERROR_CODE = 64
MAX_ERROR_TITLE = 255
MAX_REQUEST_ID = 255
