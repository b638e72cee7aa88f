"""Onboarding a source in one sitting: find the connection spec, then propose it to the flow specs
and sandboxes ticked, one change request per flow spec (one sandbox) or one rollout (several).

Every write goes through the change-request and rollout services, with their checks, audit events
and approvals; this module only decides which to call. A submission is all or nothing: the ids are
looked up first (no transaction open across a remote call), then every proposal is made in one
transaction, and a refused one undoes the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction

from flowadmin import documents
from flowadmin.catalog.lookup import connection_specs_look_up
from flowadmin.catalog.models import Sandbox
from flowadmin.changes import policy
from flowadmin.changes import services as changes
from flowadmin.changes.common import flow_service
from flowadmin.changes.models import ChangeRequest
from flowadmin.documents.ids import normalise
from flowadmin.onboarding.rules import Source
from flowadmin.onboarding.selectors import source_cached
from flowadmin.rollouts import services as rollouts
from flowadmin.rollouts.models import Rollout
from flowadmin.rollouts.selectors import rollout_candidates

NOT_A_UUID = "“{text}” is not a connection spec id: write its 36 characters (a UUID), without braces or quotes."
REMOTE_UNKNOWN = (
    "{id} is not a connection spec of sandbox “{sandbox}”: the Flow Service of sandbox “{sandbox}” does not know it."
)
LOOKUP_FAILED = "{id} is not cached for sandbox “{sandbox}”, and {why}."
UNKNOWN_SANDBOX = "There is no active sandbox “{sandbox}”."
REASON_REQUIRED = "Say why this source is onboarded: the approvers read this."
NO_FLOW_SPEC = "Tick at least one flow spec to add the source to."
NO_SANDBOX = "Tick at least one sandbox."
NOTHING_TO_DO = (
    "Flow spec “{name}” already carries the source, or is not cached, in every sandbox ticked ({sandboxes})."
)
REFUSED = "Flow spec “{name}”: {message}"
NOT_SUBMITTED = "Nothing was submitted: fix the problems below, then submit again."


class OnboardingError(Exception):
    def __init__(self, message: str, *, problems: Sequence[str] = ()):
        super().__init__(message)
        self.message = message
        self.problems = list(problems)


@dataclass(frozen=True)
class Resolved:
    """The connection spec asked for: ``source`` when found; else ``problem`` says why not."""

    text: str
    source: Source | None = None
    problem: str = ""
    looked_up: bool = False  # found by a live lookup just now (it was not cached)


def source_resolve(*, text: str, sandbox: str) -> Resolved:
    """The connection spec ``text`` names in ``sandbox``: from the cache, else from the sandbox's Flow
    Service (and then cached). Nothing is stored when the lookup fails."""
    text = (text or "").strip()
    spec_id = normalise(text)
    if not spec_id:
        return Resolved(text=text, problem=NOT_A_UUID.format(text=text[:60]))
    if not Sandbox.objects.filter(name=sandbox, state="active").exists():
        return Resolved(text=text, problem=UNKNOWN_SANDBOX.format(sandbox=sandbox[:60]))
    source = source_cached(sandbox=sandbox, spec_id=spec_id)
    if source is not None:
        return Resolved(text=text, source=source)
    problem = _look_up_problems(spec_id, [sandbox])
    if problem:
        return Resolved(text=text, problem=problem[0])
    return Resolved(text=text, source=source_cached(sandbox=sandbox, spec_id=spec_id), looked_up=True)


def _look_up_problems(spec_id: str, sandboxes: Sequence[str]) -> list[str]:
    """Look ``spec_id`` up in each sandbox whose cache lacks it; why it cannot be used there, if so."""
    problems = []
    for sandbox in sandboxes:
        result = connection_specs_look_up(sandbox=sandbox, ids=[spec_id], client=flow_service())
        if spec_id in result.missing:
            problems.append(REMOTE_UNKNOWN.format(id=spec_id, sandbox=sandbox))
        elif spec_id in result.failed:
            problems.append(LOOKUP_FAILED.format(id=spec_id, sandbox=sandbox, why=result.failed[spec_id]))
    return problems


@dataclass
class Submitted:
    change_requests: list[ChangeRequest] = field(default_factory=list)
    rollouts: list[Rollout] = field(default_factory=list)


def onboarding_submit(
    *, connection_spec_id: str, spec_ids: Sequence[str], sandboxes: Sequence[str], reason: str, author
) -> Submitted:
    """Add the connection spec to each flow spec of ``spec_ids`` in the ticked ``sandboxes`` that lack
    it: a change request where that is one sandbox, a rollout (in the default order) where several.

    Raises `OnboardingError` (nothing submitted) or the services' forbidden errors."""
    policy.check_proposer(author)
    reason = (reason or "").strip()
    spec_id = normalise(connection_spec_id or "")
    problems = []
    if not spec_id:
        problems.append(NOT_A_UUID.format(text=(connection_spec_id or "")[:60]))
    if not reason:
        problems.append(REASON_REQUIRED)
    if not spec_ids:
        problems.append(NO_FLOW_SPEC)
    if not sandboxes:
        problems.append(NO_SANDBOX)
    if problems:
        raise OnboardingError(NOT_SUBMITTED, problems=problems)
    plan = []  # (flow spec copies to change, their name)
    for flow_spec_id in dict.fromkeys(spec_ids):
        copies = [spec for spec in rollout_candidates(spec_id=flow_spec_id) if spec.sandbox.name in sandboxes]
        targets = [spec for spec in copies if spec_id not in _sources(spec)]
        name = copies[0].name if copies else flow_spec_id
        if not targets:
            problems.append(NOTHING_TO_DO.format(name=name, sandboxes=", ".join(sandboxes)))
        plan.append((targets, name))
    needed = list(dict.fromkeys(spec.sandbox.name for targets, _name in plan for spec in targets))
    problems += _look_up_problems(spec_id, needed)
    if problems:
        raise OnboardingError(NOT_SUBMITTED, problems=problems)
    submitted = Submitted()
    with transaction.atomic():  # a refused proposal undoes those made before it
        for targets, name in plan:
            _propose(targets, name, spec_id=spec_id, reason=reason, author=author, submitted=submitted)
    return submitted


def _sources(spec) -> set[str]:
    return set(documents.id_keys(documents.source_ids(spec.document)))


def _propose(targets, name: str, *, spec_id: str, reason: str, author, submitted: Submitted) -> None:
    try:
        if len(targets) == 1:
            spec = targets[0]
            submitted.change_requests.append(
                changes.change_request_propose(
                    flow_spec=spec,
                    source_ids=[*documents.source_ids(spec.document), spec_id],
                    reason=reason,
                    author=author,
                )
            )
        else:
            submitted.rollouts.append(
                rollouts.rollout_propose(
                    spec_id=targets[0].spec_id,
                    sandboxes=[spec.sandbox.name for spec in targets],
                    added=[spec_id],
                    removed=[],
                    reason=reason,
                    author=author,
                )
            )
    except (changes.ChangeRequestForbidden, rollouts.RolloutForbidden):
        raise
    except (changes.ChangeRequestError, rollouts.RolloutError) as error:
        detail = " ".join([error.message, *getattr(error, "problems", [])])
        raise OnboardingError(NOT_SUBMITTED, problems=[REFUSED.format(name=name, message=detail)]) from None
