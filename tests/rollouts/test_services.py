"""The rollout services against a fake Flow Service (the emulator tests cover real HTTP)."""

import pytest
from django.utils import timezone

from flowadmin import documents
from flowadmin.audit.models import AuditEvent
from flowadmin.changes import services as changes_services
from flowadmin.changes.models import ChangeRequest
from flowadmin.rollouts import common as rollout_common
from flowadmin.rollouts import policy, selectors, services
from flowadmin.rollouts.models import Rollout, RolloutApproval
from flowadmin.rollouts.plan import NOTHING_HERE, OPEN_HERE, UNKNOWN_HERE
from flowadmin.rollouts.services import (
    ALREADY_APPROVED,
    AUTHOR_CANNOT_APPROVE,
    DIGEST_MISMATCH,
    INVALID_PLAN,
    NEEDS_REBASE,
    NOT_APPROVER,
    NOT_AUTHOR,
    NOT_PROPOSER,
    NOT_RESUMABLE,
    REASON_REQUIRED,
    RolloutConflict,
    RolloutForbidden,
    RolloutProposalError,
)
from tests.changes.factories import propose as propose_change
from tests.changes.fakes import server_error, unknown_outcome
from tests.rollouts.conftest import ACME_EVENTS, BRAZE, CUSTOMER_IO, SEGMENT, STREAMING_ID, UNKNOWN

pytestmark = pytest.mark.django_db
ORDER = ["dev", "stage", "prod"]


def propose(author, *, sandboxes=ORDER, add=(ACME_EVENTS,), remove=(), reason="Acme Events goes live"):
    return services.rollout_propose(
        spec_id=STREAMING_ID, sandboxes=list(sandboxes), added=list(add), removed=list(remove), reason=reason,
        author=author,
    )  # fmt: skip


def approve(rollout, approver):
    rollout = Rollout.objects.get(pk=rollout.pk)
    return services.rollout_approve(rollout=rollout, approver=approver, digest=rollout.digest, comment="Checked.")


def statuses(rollout) -> list[str]:
    return [step.change_request.status for step in selectors.rollout_steps(rollout=rollout)]


def rollout_actions(rollout) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(action__startswith="rollout.", detail__startswith=f"Rollout #{rollout.pk}: ")
        .order_by("seq")
        .values_list("action", "outcome")
    )


def remote_ids(remote, sandbox) -> list[str]:
    return documents.source_ids(remote.document(sandbox, STREAMING_ID))


# --- propose -----------------------------------------------------------------------------------
def test_propose_makes_one_pending_change_request_per_sandbox_in_the_order_given(remote, staff_user, specs):
    rollout = propose(staff_user, sandboxes=["stage", "dev", "prod"])

    steps = selectors.rollout_steps(rollout=rollout, documents_too=True)
    assert [(step.position, step.sandbox, step.is_production) for step in steps] == [
        (1, "stage", False),
        (2, "dev", False),
        (3, "prod", True),
    ]
    for step in steps:
        change_request = step.change_request
        assert change_request.status == "pending"
        assert change_request.added_ids == [ACME_EVENTS]
        assert change_request.base_hash == specs[step.sandbox].content_hash
        assert documents.source_ids(change_request.proposed_document)[-1] == ACME_EVENTS
    assert rollout.status == "pending"
    assert rollout.prod_approvals_required == 2
    assert rollout_actions(rollout) == [("rollout.proposed", "success")]
    assert AuditEvent.objects.filter(action="change.proposed").count() == 3
    assert remote.count("put") == 0


def test_each_sandbox_gets_only_what_it_lacks_and_loses_only_what_it_lists(remote, staff_user):
    rollout = propose(staff_user, add=[ACME_EVENTS, CUSTOMER_IO], remove=[SEGMENT, BRAZE], reason="Swap")

    by_sandbox = {step.sandbox: step.change_request for step in selectors.rollout_steps(rollout=rollout)}
    assert by_sandbox["dev"].added_ids == [ACME_EVENTS]  # dev lists Customer.io already
    assert by_sandbox["prod"].added_ids == [ACME_EVENTS, CUSTOMER_IO]
    assert all(request.removed_ids == [BRAZE] for request in by_sandbox.values())  # nobody lists Segment


def test_the_digest_binds_sandboxes_order_bases_and_ids(remote, staff_user, other_staff_user):
    first = propose(staff_user, sandboxes=["dev", "stage"])
    services.rollout_withdraw(rollout=first, actor=staff_user)
    reordered = propose(staff_user, sandboxes=["stage", "dev"])
    services.rollout_withdraw(rollout=reordered, actor=staff_user)
    other_ids = propose(staff_user, sandboxes=["dev", "stage"], add=[SEGMENT])

    assert len({first.digest, reordered.digest, other_ids.digest}) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reason": "  "}, REASON_REQUIRED),
        ({"add": [UNKNOWN]}, INVALID_PLAN),
        ({"add": ["not-a-uuid"]}, "“not-a-uuid” is not a connection spec id (a UUID)."),
        ({"add": [ACME_EVENTS], "remove": [ACME_EVENTS]}, f"{ACME_EVENTS} is both added and removed."),
        ({"add": [], "remove": []}, services.NO_IDS),
        ({"sandboxes": []}, services.NO_SANDBOX),
        ({"sandboxes": ["dev", "nowhere"]}, services.NOT_CACHED.format(spec_id=STREAMING_ID, sandbox="nowhere")),
    ],
)
def test_a_proposal_that_cannot_be_made_writes_nothing(remote, staff_user, kwargs, message):
    with pytest.raises(RolloutProposalError) as refused:
        propose(staff_user, **kwargs)

    assert refused.value.message == message
    assert not Rollout.objects.exists()
    assert not ChangeRequest.objects.exists()
    assert not AuditEvent.objects.exists()


def test_problems_are_told_per_sandbox(remote, staff_user, specs):
    with pytest.raises(RolloutProposalError) as refused:
        propose(staff_user, add=[CUSTOMER_IO])

    assert refused.value.message == INVALID_PLAN
    assert refused.value.problems == [NOTHING_HERE.format(sandbox="dev"), NOTHING_HERE.format(sandbox="stage")]
    with pytest.raises(RolloutProposalError) as unknown:
        propose(staff_user, add=[UNKNOWN])
    assert unknown.value.problems == [UNKNOWN_HERE.format(id=UNKNOWN, sandbox=name) for name in ORDER]


def test_an_open_change_request_in_one_sandbox_refuses_the_whole_rollout(remote, staff_user, specs):
    open_request = propose_change(specs["stage"], staff_user, add=[SEGMENT])

    with pytest.raises(RolloutProposalError) as refused:
        propose(staff_user)

    assert refused.value.problems == [OPEN_HERE.format(pk=open_request.pk, status="pending", sandbox="stage")]
    assert not Rollout.objects.exists()
    assert ChangeRequest.objects.count() == 1


def test_a_rollouts_steps_hold_the_one_open_request_per_flow_spec(remote, staff_user, specs):
    propose(staff_user)

    with pytest.raises(changes_services.ProposalError):
        propose_change(specs["prod"], staff_user, add=[SEGMENT])
    with pytest.raises(RolloutProposalError):
        propose(staff_user, sandboxes=["prod"], add=[SEGMENT])


def test_only_onboarding_staff_propose(remote, approver_user):
    with pytest.raises(RolloutForbidden) as refused:
        propose(approver_user)

    assert refused.value.message == NOT_PROPOSER
    assert not Rollout.objects.exists()


# --- approvals ---------------------------------------------------------------------------------
def test_the_first_approval_applies_the_development_sandboxes_and_prod_waits_for_a_second(
    remote, staff_user, approver_user, second_approver
):
    rollout = propose(staff_user)

    waiting = approve(rollout, approver_user)

    assert waiting.status == "pending"
    assert statuses(waiting) == ["applied", "applied", "pending"]
    assert remote.puts_to("prod") == 0
    assert ACME_EVENTS in remote_ids(remote, "dev")
    assert ACME_EVENTS not in remote_ids(remote, "prod")

    done = approve(waiting, second_approver)

    assert done.status == "completed"
    assert statuses(done) == ["applied", "applied", "applied"]
    assert [remote.puts_to(name) for name in ORDER] == [1, 1, 1]
    assert rollout_actions(done) == [
        ("rollout.proposed", "success"),
        ("rollout.approved", "success"),
        ("rollout.step_applied", "success"),
        ("rollout.step_applied", "success"),
        ("rollout.approved", "success"),
        ("rollout.step_applied", "success"),
        ("rollout.completed", "success"),
    ]


def test_the_author_never_approves_not_even_as_a_superuser(remote, superuser, approver_user):
    rollout = propose(superuser)

    with pytest.raises(RolloutForbidden) as refused:
        approve(rollout, superuser)

    assert refused.value.message == AUTHOR_CANNOT_APPROVE
    assert not RolloutApproval.objects.exists()
    assert remote.count("put") == 0
    assert rollout_actions(rollout)[-1] == ("rollout.approved", "failure")
    assert approve(rollout, approver_user).status == "pending"  # another approver may


def test_the_same_approver_cannot_count_twice(remote, staff_user, approver_user):
    rollout = propose(staff_user)
    approve(rollout, approver_user)

    with pytest.raises(RolloutForbidden) as refused:
        approve(rollout, approver_user)

    assert refused.value.message == ALREADY_APPROVED
    assert RolloutApproval.objects.count() == 1
    assert remote.puts_to("prod") == 0
    assert Rollout.objects.get(pk=rollout.pk).status == "pending"


def test_an_approval_of_another_digest_is_refused(remote, staff_user, approver_user):
    rollout = propose(staff_user)

    with pytest.raises(RolloutForbidden) as refused:
        services.rollout_approve(rollout=rollout, approver=approver_user, digest="0" * 64)

    assert refused.value.message == DIGEST_MISMATCH
    assert remote.count("put") == 0


def test_staff_cannot_approve(remote, staff_user, other_staff_user):
    rollout = propose(staff_user)

    with pytest.raises(RolloutForbidden) as refused:
        approve(rollout, other_staff_user)

    assert refused.value.message == NOT_APPROVER


def test_one_approval_is_enough_for_prod_when_the_setting_says_so(remote, settings, staff_user, approver_user):
    settings.FLOWADMIN_APPROVALS_PRODUCTION = 1
    rollout = propose(staff_user)

    assert approve(rollout, approver_user).status == "completed"


def test_a_rollout_of_development_sandboxes_only_needs_one_approval(remote, staff_user, approver_user):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])

    assert approve(rollout, approver_user).status == "completed"


def test_production_first_waits_before_sending_anything(remote, staff_user, approver_user, second_approver):
    rollout = propose(staff_user, sandboxes=["prod", "dev"])

    assert approve(rollout, approver_user).status == "pending"
    assert remote.count("put") == 0
    assert approve(rollout, second_approver).status == "completed"


def test_a_sandbox_that_became_production_after_the_proposal_needs_the_production_approvals(
    remote, staff_user, approver_user, specs
):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])
    specs["stage"].sandbox.__class__.objects.filter(name="stage").update(type="production")

    assert approve(rollout, approver_user).status == "pending"
    assert statuses(rollout) == ["applied", "pending"]


# --- failure, stop, resume ---------------------------------------------------------------------
def test_a_failure_in_the_middle_stops_there_and_resume_finishes_without_redoing_dev(
    remote, staff_user, approver_user, second_approver
):
    rollout = propose(staff_user)
    remote.fail_in("stage", "put", server_error(503))

    stopped = approve(rollout, approver_user)

    assert stopped.status == "stopped"
    assert stopped.stopped_position == 2
    assert "Service unavailable" in stopped.stop_detail
    assert "req-err" in stopped.stop_detail
    assert statuses(stopped) == ["applied", "failed", "pending"]
    assert [remote.puts_to(name) for name in ORDER] == [1, 1, 0]
    assert ACME_EVENTS not in remote_ids(remote, "stage")
    assert approve(stopped, second_approver).status == "stopped"  # an approval alone does not resume
    assert remote.count("put") == 2

    done = services.rollout_resume(rollout=stopped, approver=approver_user)

    assert done.status == "completed"
    assert [remote.puts_to(name) for name in ORDER] == [1, 2, 1]
    assert all(ACME_EVENTS in remote_ids(remote, name) for name in ORDER)
    assert [action for action, _ in rollout_actions(done)][-7:] == [
        "rollout.step_failed",
        "rollout.stopped",
        "rollout.approved",
        "rollout.resumed",
        "rollout.step_applied",
        "rollout.step_applied",
        "rollout.completed",
    ]


def test_a_failed_read_before_the_put_stops_the_rollout_with_nothing_sent_there(remote, staff_user, approver_user):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])
    remote.fail_in("stage", "get", server_error(500))

    stopped = approve(rollout, approver_user)

    assert stopped.status == "stopped"
    assert statuses(stopped) == ["applied", "failed"]
    assert remote.puts_to("stage") == 0


def test_resume_refuses_the_author_and_a_rollout_that_is_not_stopped(remote, staff_user, approver_user):
    rollout = propose(staff_user)

    with pytest.raises(RolloutForbidden):
        services.rollout_resume(rollout=rollout, approver=staff_user)
    with pytest.raises(RolloutConflict) as refused:
        services.rollout_resume(rollout=rollout, approver=approver_user)

    assert refused.value.message == NOT_RESUMABLE.format(pk=rollout.pk, status="pending")
    assert remote.count("put") == 0


def test_of_two_resumes_only_the_one_holding_the_claim_runs(remote, staff_user, approver_user, second_approver):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])
    remote.fail_in("dev", "put", server_error(503))
    stopped = approve(rollout, approver_user)
    assert rollout_common.claim(stopped, from_statuses=("stopped",)) is not None  # another click got there first

    with pytest.raises(RolloutConflict):
        services.rollout_resume(rollout=stopped, approver=second_approver)

    assert remote.puts_to("dev") == 1
    assert Rollout.objects.get(pk=rollout.pk).status == "applying"


def test_a_run_that_died_is_taken_over_by_resume_after_the_grace_period(
    remote, settings, staff_user, approver_user, second_approver
):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])
    rollout_common.claim(rollout, from_statuses=("pending",))  # a run that never came back
    settings.FLOWADMIN_APPLY_GRACE_SECONDS = 0
    RolloutApproval.objects.create(
        rollout=rollout, approver=approver_user, approver_username="approver", digest=rollout.digest
    )

    done = services.rollout_resume(rollout=rollout, approver=second_approver)

    assert done.status == "completed"
    assert [remote.puts_to(name) for name in ["dev", "stage"]] == [1, 1]


def test_an_unknown_outcome_stops_and_resume_settles_it_by_reading_back(remote, settings, staff_user, approver_user):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])
    remote.fail_in("dev", "put", unknown_outcome(applied=True))

    stopped = approve(rollout, approver_user)

    assert stopped.status == "stopped"
    assert statuses(stopped) == ["applying", "pending"]
    assert rollout_actions(stopped)[-2:] == [("rollout.step_failed", "unknown"), ("rollout.stopped", "failure")]
    settings.FLOWADMIN_APPLY_GRACE_SECONDS = 0

    done = services.rollout_resume(rollout=stopped, approver=approver_user)

    assert done.status == "completed"
    assert remote.puts_to("dev") == 1  # settled as applied by reading back: not sent again
    assert AuditEvent.objects.filter(action="change.reconciled", sandbox="dev", outcome="success").count() == 1


# --- stale steps -------------------------------------------------------------------------------
def changed_remotely(remote, sandbox):
    document = remote.document(sandbox, STREAMING_ID)
    document["sourceConnectionSpecIds"] = [*document["sourceConnectionSpecIds"], SEGMENT]
    remote.add(sandbox, document)


def test_a_stale_step_stops_the_rollout_and_must_be_rebased_then_approved_again(
    remote, staff_user, approver_user, second_approver
):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])
    changed_remotely(remote, "stage")

    stopped = approve(rollout, approver_user)

    assert stopped.status == "stopped"
    assert statuses(stopped) == ["applied", "stale"]
    assert remote.puts_to("stage") == 0
    with pytest.raises(RolloutConflict) as refused:
        services.rollout_resume(rollout=stopped, approver=approver_user)
    assert refused.value.message == NEEDS_REBASE.format(position=2, sandbox="stage")

    rebased = services.rollout_step_rebase(rollout=stopped, position=2, actor=staff_user)

    assert rebased.status == "pending"
    assert rebased.digest != stopped.digest
    assert statuses(rebased) == ["applied", "pending"]
    assert policy.approvals(rebased) == []  # the old approval was for another digest
    done = approve(rebased, second_approver)
    assert done.status == "completed"
    assert remote_ids(remote, "stage")[-2:] == [SEGMENT, ACME_EVENTS]  # the remote change survived
    assert remote.puts_to("dev") == 1


# --- the steps' change requests are decided through the rollout only ---------------------------
def test_a_step_cannot_be_decided_as_a_single_change_request(remote, staff_user, approver_user):
    rollout = propose(staff_user)
    step = selectors.rollout_steps(rollout=rollout)[0]
    change_request = ChangeRequest.objects.get(pk=step.change_request_id)
    message = changes_services.ROLLOUT_STEP.format(pk=change_request.pk, rollout=rollout.pk)

    attempts = [
        lambda: changes_services.change_request_approve(
            change_request=change_request, reviewer=approver_user, digest=change_request.digest
        ),
        lambda: changes_services.change_request_reject(
            change_request=change_request, reviewer=approver_user, comment="no"
        ),
        lambda: changes_services.change_request_withdraw(change_request=change_request, actor=staff_user),
    ]
    for attempt in attempts:
        with pytest.raises(changes_services.ChangeRequestForbidden) as refused:
            attempt()
        assert refused.value.message == message

    assert statuses(rollout) == ["pending"] * 3
    assert remote.count("put") == 0


def test_a_rollout_cannot_act_on_a_change_request_that_is_not_its_step(remote, staff_user, approver_user, specs):
    rollout = propose(staff_user, sandboxes=["dev"])
    single = propose_change(specs["stage"], staff_user, add=[SEGMENT])

    with pytest.raises(changes_services.ChangeRequestForbidden) as refused:
        changes_services.change_request_approve(
            change_request=single, reviewer=approver_user, digest=single.digest, rollout=rollout
        )

    assert refused.value.message == changes_services.NOT_ROLLOUT_STEP.format(pk=single.pk, rollout=rollout.pk)


# --- reject, withdraw --------------------------------------------------------------------------
def test_reject_closes_the_steps_not_applied_and_keeps_the_applied_ones(
    remote, staff_user, approver_user, second_approver
):
    rollout = propose(staff_user)
    approve(rollout, approver_user)

    rejected = services.rollout_reject(rollout=rollout, reviewer=second_approver, comment="Not in prod yet")

    assert rejected.status == "rejected"
    assert rejected.review_comment == "Not in prod yet"
    assert statuses(rejected) == ["applied", "applied", "rejected"]
    assert rollout_actions(rejected)[-1] == ("rollout.rejected", "success")
    with pytest.raises(RolloutConflict):
        approve(rejected, second_approver)
    assert remote.puts_to("prod") == 0


def test_only_the_author_withdraws_and_a_withdrawn_rollout_frees_its_flow_specs(
    remote, staff_user, other_staff_user, approver_user, specs
):
    rollout = propose(staff_user)

    with pytest.raises(RolloutForbidden) as refused:
        services.rollout_withdraw(rollout=rollout, actor=other_staff_user)
    assert refused.value.message == NOT_AUTHOR

    withdrawn = services.rollout_withdraw(rollout=rollout, actor=staff_user)

    assert withdrawn.status == "withdrawn"
    assert statuses(withdrawn) == ["withdrawn"] * 3
    assert propose_change(specs["prod"], staff_user, add=[SEGMENT]).status == "pending"


def test_reject_needs_a_comment(remote, staff_user, approver_user):
    rollout = propose(staff_user)

    with pytest.raises(services.RolloutError) as refused:
        services.rollout_reject(rollout=rollout, reviewer=approver_user, comment=" ")

    assert refused.value.message == services.COMMENT_REQUIRED
    assert Rollout.objects.get(pk=rollout.pk).status == "pending"


# --- drift -------------------------------------------------------------------------------------
def test_the_drift_matrix_lists_every_id_by_sandbox_with_differences_first(specs):
    drift = selectors.flowspec_drift(spec_id=STREAMING_ID, reference="dev")

    assert [column.sandbox.name for column in drift.columns] == ["dev", "stage", "prod"]
    assert [row.spec_id for row in drift.rows] == [CUSTOMER_IO, BRAZE]
    assert [(cell.sandbox, cell.present) for cell in drift.rows[0].cells] == [
        ("dev", True),
        ("stage", True),
        ("prod", False),
    ]
    assert drift.differing == 1
    [prod] = drift.out_of_line
    assert (prod.sandbox.name, prod.to_add, prod.to_remove) == ("prod", (CUSTOMER_IO,), ())


def test_bringing_a_sandbox_in_line_with_the_reference_fills_the_form(specs):
    candidates = selectors.rollout_candidates(spec_id=STREAMING_ID)

    prefill = selectors.rollout_prefill(candidates=candidates, reference="prod")

    assert prefill.initial["add_ids"] == ""
    assert prefill.initial["remove_ids"] == CUSTOMER_IO
    assert [name for name in ORDER if prefill.initial[f"include_{name}"]] == ["dev", "stage"]


def test_a_rollout_started_from_a_change_request_ticks_the_sandboxes_it_would_change(
    remote, staff_user, approver_user, specs
):
    single = propose_change(specs["dev"], staff_user, add=[ACME_EVENTS])
    changes_services.change_request_approve(change_request=single, reviewer=approver_user, digest=single.digest)

    prefill = selectors.rollout_prefill(
        candidates=selectors.rollout_candidates(spec_id=STREAMING_ID), from_change_request=str(single.pk)
    )

    assert prefill.source == single
    assert prefill.initial["add_ids"] == ACME_EVENTS
    assert [name for name in ORDER if prefill.initial[f"include_{name}"]] == ["stage", "prod"]
    assert prefill.initial["position_dev"] < prefill.initial["position_stage"] < prefill.initial["position_prod"]


def test_the_trail_of_a_rollout_has_its_own_events_and_its_steps(remote, staff_user, approver_user):
    rollout = propose(staff_user, sandboxes=["dev"])
    other = propose(staff_user, sandboxes=["stage"])
    approve(rollout, approver_user)

    trail = list(selectors.rollout_events(rollout=rollout).values_list("action", flat=True))

    assert trail == [
        "change.proposed",
        "rollout.proposed",
        "rollout.approved",
        "change.approved",
        "change.apply_started",
        "change.applied",
        "rollout.step_applied",
        "rollout.completed",
    ]
    assert "rollout.proposed" in selectors.rollout_events(rollout=other).values_list("action", flat=True)
    assert timezone.now() >= Rollout.objects.get(pk=rollout.pk).completed_at
