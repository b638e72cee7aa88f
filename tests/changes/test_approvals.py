"""Approvals by tier, dismissed approvals, edits, revisions, clean rebases and freezes, through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec, FlowSpecVersion
from flowadmin.changes import messages as msg
from flowadmin.changes import policy, services
from flowadmin.changes.models import Approval, ChangeRequest
from flowadmin.policy import freezes
from flowadmin.policy.models import Freeze
from tests.changes.conftest import ACME_EVENTS, SEGMENT, STREAMING_ID
from tests.changes.factories import propose
from tests.conftest import make_user


@pytest.fixture
def prod(streaming_spec):
    streaming_spec.sandbox.tier_override = "production"
    streaming_spec.sandbox.save()
    return streaming_spec


@pytest.fixture
def third_approver(django_user_model):
    return make_user(django_user_model, "approver3", "Approvers")


def approve(change_request, user, **kwargs):
    change_request = ChangeRequest.objects.get(pk=change_request.pk)
    kwargs.setdefault("comment", "Checked the ids.")
    return services.change_request_approve(
        change_request=change_request, reviewer=user, digest=change_request.digest, **kwargs
    )


def details(action: str) -> list[str]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq").values_list("detail", flat=True))


# --- tiers -----------------------------------------------------------------------------------------
def test_a_production_change_is_applied_only_by_its_second_distinct_approver(
    remote, prod, catalog, staff_user, approver_user, second_approver
):
    change_request = propose(prod, staff_user, add=[ACME_EVENTS])

    first = approve(change_request, approver_user)

    assert first.status == "pending"
    assert remote.count("put") == 0
    assert details("change.approved") == [
        "Approved (1 of 2 approvals: 2 for a production sandbox); waiting for more. Comment: Checked the ids."
    ]
    second = approve(change_request, second_approver)
    assert second.status == "applied"
    assert remote.count("put") == 1
    assert [a.approver_username for a in policy.approvals(second)] == ["approver", "approver2"]


def test_a_production_approval_needs_a_comment(remote, prod, catalog, staff_user, approver_user):
    change_request = propose(prod, staff_user, add=[ACME_EVENTS])
    with pytest.raises(services.ChangeRequestError) as refused:
        approve(change_request, approver_user, comment="  ")
    assert refused.value.message == policy.COMMENT_REQUIRED
    assert Approval.objects.count() == 0


def test_the_tier_comes_from_the_type_unless_overridden(dev, settings):
    settings.FLOWADMIN_APPROVALS_PRODUCTION = 3
    assert policy.requirement_for(sandbox="dev").count == 1
    dev.type = "production"
    dev.save()
    assert policy.requirement_for(sandbox="dev").count == 3
    dev.tier_override = "development"
    dev.save()
    assert policy.requirement_for(sandbox="dev").count == 1
    assert policy.requirement_for(sandbox="unknown-to-the-cache").tier == "production"


def test_a_retry_needs_the_approvals_the_sandbox_requires_now(
    remote, streaming_spec, catalog, staff_user, approver_user, second_approver
):
    from tests.changes.fakes import server_error

    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    remote.fail("put", server_error())
    assert approve(change_request, approver_user).status == "failed"
    streaming_spec.sandbox.tier_override = "production"
    streaming_spec.sandbox.save()

    with pytest.raises(services.ChangeRequestConflict) as refused:
        services.change_request_retry(change_request=change_request, reviewer=second_approver)
    assert "has 1 of the 2 approvals it needs" in refused.value.message
    assert remote.count("put") == 1
    # A second approver's approval is the last one needed: it retries the apply at once.
    assert approve(change_request, second_approver).status == "applied"
    assert remote.count("put") == 2


def test_a_deleted_author_s_request_may_be_approved_by_anyone_else_and_a_namesake_is_not_the_author(
    remote, streaming_spec, catalog, staff_user, approver_user, django_user_model
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    staff_user.delete()
    namesake = make_user(django_user_model, "staff", "Approvers")
    change_request = ChangeRequest.objects.get(pk=change_request.pk)
    assert change_request.author_id is None and change_request.author_username == "staff"

    assert approve(change_request, namesake).status == "applied"


# --- dismissed approvals ------------------------------------------------------------------------
def test_editing_a_request_dismisses_its_approvals_and_says_so(
    remote, prod, catalog, staff_user, approver_user, second_approver
):
    change_request = propose(prod, staff_user, add=[ACME_EVENTS])
    approve(change_request, approver_user)
    ids = [*ChangeRequest.objects.get(pk=change_request.pk).proposed_document["sourceConnectionSpecIds"], SEGMENT]

    edited = services.change_request_edit(
        change_request=change_request, actor=staff_user, source_ids=ids, reason="Acme and Segment."
    )

    assert edited.pk == change_request.pk and edited.digest != change_request.digest
    assert edited.added_ids == [ACME_EVENTS, SEGMENT]
    assert policy.approvals(edited) == []
    assert Approval.objects.get().dismissed_why == "edited"
    assert details("change.edited")[-1].endswith("1 approval dismissed.")
    # The earlier approver may approve the edited request again; one approval is still one of two.
    assert approve(edited, approver_user).status == "pending"
    assert approve(edited, second_approver).status == "applied"


def test_withdrawing_dismisses_the_approvals(remote, prod, catalog, staff_user, approver_user):
    change_request = propose(prod, staff_user, add=[ACME_EVENTS])
    approve(change_request, approver_user)
    services.change_request_withdraw(change_request=change_request, actor=staff_user)
    assert Approval.objects.get().dismissed_why == "withdrawn"
    assert details("change.withdrawn") == ["Withdrawn by its author. 1 approval dismissed."]


def test_only_the_author_edits_and_only_a_pending_request(
    remote, streaming_spec, catalog, staff_user, other_staff_user
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    with pytest.raises(services.ChangeRequestForbidden) as refused:
        services.change_request_edit(change_request=change_request, actor=other_staff_user, source_ids=[], reason="x")
    assert refused.value.message == policy.NOT_AUTHOR


# --- revise and resubmit ------------------------------------------------------------------------
def test_a_rejected_request_is_revised_as_a_new_linked_request(
    remote, streaming_spec, catalog, staff_user, approver_user
):
    rejected = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    services.change_request_reject(change_request=rejected, reviewer=approver_user, comment="Add Segment too.")
    streaming_spec.refresh_from_db()
    ids = [*streaming_spec.document["sourceConnectionSpecIds"], ACME_EVENTS, SEGMENT]

    revision = services.change_request_propose(
        flow_spec=streaming_spec, source_ids=ids, reason="Acme and Segment.", author=staff_user, revised_from=rejected
    )

    assert revision.revised_from_id == rejected.pk
    assert list(rejected.revisions.all()) == [revision]
    assert details("change.proposed")[-1].startswith(f"Proposed (revising #{rejected.pk}):")


# --- a clean rebase, approved by an approver ------------------------------------------------------
def _remote_changes(remote, **fields):
    changed = remote.document("dev", STREAMING_ID)
    changed.update(fields)
    remote.add("dev", changed)
    return changed


def test_an_approver_approves_a_cleanly_rebased_change_and_the_put_sends_that_document(
    remote, streaming_spec, catalog, staff_user, approver_user
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    _remote_changes(remote, description="Edited in the Adobe console.")
    check = services.change_request_check(change_request=change_request)
    assert check.state == "rebase"

    applied = services.change_request_approve_rebased(
        change_request=change_request, reviewer=approver_user, remote_hash=check.remote_hash, comment=""
    )

    assert applied.status == "applied" and applied.rebased_from_id == change_request.pk
    assert applied.author_id == staff_user.pk, "the author stays the author"
    sent = remote.puts[-1]
    assert sent["description"] == "Edited in the Adobe console.", "the remote change survives"
    assert ACME_EVENTS in sent["sourceConnectionSpecIds"]
    old = ChangeRequest.objects.get(pk=change_request.pk)
    assert (old.status, old.superseded_at is not None) == ("stale", True)
    assert [a.approver_username for a in policy.approvals(applied)] == ["approver"]


def test_an_approval_of_a_rebased_change_is_bound_to_the_remote_document_the_approver_saw(
    remote, streaming_spec, catalog, staff_user, approver_user
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    _remote_changes(remote, description="First edit.")
    seen = services.change_request_check(change_request=change_request).remote_hash
    _remote_changes(remote, description="Second edit, after the approver looked.")

    with pytest.raises(services.ChangeRequestConflict) as refused:
        services.change_request_approve_rebased(change_request=change_request, reviewer=approver_user, remote_hash=seen)

    assert refused.value.message == msg.REMOTE_MOVED
    assert remote.count("put") == 0
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "pending"


def test_a_change_that_no_longer_applies_is_not_offered_rebased_and_says_why(
    remote, streaming_spec, catalog, staff_user, approver_user
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS, SEGMENT])
    changed = remote.document("dev", STREAMING_ID)
    changed["sourceConnectionSpecIds"] = [*changed["sourceConnectionSpecIds"], SEGMENT]
    remote.add("dev", changed)

    check = services.change_request_check(change_request=change_request)

    assert check.state == "partial"
    assert check.why == f"{SEGMENT} is listed already"
    assert not policy.can_approve_rebased(approver_user, change_request, clean=False)
    with pytest.raises(services.ChangeRequestConflict):
        services.change_request_approve_rebased(
            change_request=change_request, reviewer=approver_user, remote_hash=check.remote_hash
        )
    changed["sourceConnectionSpecIds"] = [*changed["sourceConnectionSpecIds"], ACME_EVENTS]
    remote.add("dev", changed)
    assert services.change_request_check(change_request=change_request).state == "done"


def test_a_stale_apply_takes_the_remote_document_into_the_cache_and_its_history(
    remote, streaming_spec, catalog, staff_user, approver_user
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    _remote_changes(remote, description="Edited elsewhere.")

    assert approve(change_request, approver_user).status == "stale"

    cached = FlowSpec.objects.get(pk=streaming_spec.pk)
    assert cached.document["description"] == "Edited elsewhere."
    assert FlowSpecVersion.objects.filter(flow_spec=cached).order_by("-seen_at", "-id")[0].document == cached.document
    # Rebased, the request is built on that document: its apply is no longer stale.
    rebased = services.change_request_rebase(change_request=change_request, actor=staff_user)
    assert rebased.base_hash == cached.content_hash
    assert approve(rebased, approver_user).status == "applied"


# --- freezes --------------------------------------------------------------------------------------
@pytest.fixture
def freeze_manager(django_user_model):
    return make_user(django_user_model, "release", "Freeze managers")


def declare(manager, **kwargs):
    now = timezone.now()
    kwargs.setdefault("tiers", [])
    kwargs.setdefault("sandboxes", ["dev"])
    return freezes.freeze_declare(
        actor=manager,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=2),
        reason="Peak season",
        **kwargs,
    )


def test_a_freeze_refuses_a_plain_approval_naming_itself_and_audits_the_refusal(
    remote, streaming_spec, catalog, staff_user, approver_user, freeze_manager
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    freeze = declare(freeze_manager)

    with pytest.raises(services.ChangeRequestConflict) as refused:
        approve(change_request, approver_user)

    assert refused.value.message.startswith("Sandbox “dev” is frozen until")
    assert f"freeze #{freeze.pk}: Peak season" in refused.value.message
    assert remote.count("put") == 0
    refusal = AuditEvent.objects.filter(action="change.approved").get()
    assert refusal.outcome == "failure" and "frozen" in refusal.detail
    assert AuditEvent.objects.filter(action="freeze.declared").count() == 1


def test_emergency_approvals_with_a_reason_and_one_more_approver_pass_a_freeze(
    remote, streaming_spec, catalog, staff_user, approver_user, second_approver, freeze_manager
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    declare(freeze_manager)
    with pytest.raises(services.ChangeRequestConflict) as refused:
        approve(change_request, approver_user, emergency=True, comment="")
    assert refused.value.message == policy.EMERGENCY_NEEDS_REASON

    first = approve(change_request, approver_user, emergency=True, comment="Partner outage.")
    assert first.status == "pending", "a development sandbox needs 2 during the freeze"
    second = approve(change_request, second_approver, emergency=True, comment="Confirmed the outage.")

    assert second.status == "applied"
    assert remote.count("put") == 1
    assert details("change.approved")[0].startswith("Emergency approval during freeze #")


def test_a_freeze_covers_a_tier_and_ends_when_lifted(
    remote, prod, catalog, staff_user, approver_user, second_approver, freeze_manager
):
    change_request = propose(prod, staff_user, add=[ACME_EVENTS])
    freeze = declare(freeze_manager, tiers=["production"], sandboxes=[])
    assert policy.requirement(change_request).count == 3
    freezes.freeze_lift(actor=freeze_manager, freeze=freeze)
    assert policy.requirement(change_request).count == 2
    assert Freeze.objects.get().lifted_at is not None
    assert AuditEvent.objects.filter(action="freeze.lifted").count() == 1


def test_only_freeze_managers_declare_freezes(approver_user, dev):
    with pytest.raises(freezes.FreezeForbidden):
        declare(approver_user)
    assert Freeze.objects.count() == 0
