"""Removing a connection spec id that dataflows use, over real HTTP against the emulator.

Sandbox prod (a production sandbox: two approvals) has three dataflows of GenericStreamingAEP whose
source connections use Braze Currents: two enabled, one disabled (`specs/dataflows.json`).
"""

import pytest

from flowadmin import documents
from flowadmin.accounts.roles import APPROVERS_GROUP, STAFF_GROUP
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec
from flowadmin.catalog.services import sandbox_sync
from flowadmin.changes import policy, services
from flowadmin.changes.impact import Impact, impact_check
from flowadmin.changes.messages import IMPACT_CHANGED
from flowadmin.changes.models import ChangeRequest
from tests.changes.factories import propose
from tests.conftest import make_user
from tests.fixtures.emulator import CRM_TO_AEP_ID, FLOW_SPECS, FLOWS, GENERIC_STREAMING_ID

BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
BRAZE_FLOWS = ["Braze Currents web events to AEP", "Braze Currents mobile events to AEP"]  # enabled
BRAZE_DISABLED = "Braze Currents email events to AEP"
SPEC_PATH = f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}"


@pytest.fixture(autouse=True)
def _quick_retries(emulator_quick):
    """Faults cost milliseconds here."""


@pytest.fixture
def spec(emulator):
    assert sandbox_sync(sandbox_name="prod").ok
    emulator.clear_log()
    return FlowSpec.objects.get(sandbox__name="prod", spec_id=GENERIC_STREAMING_ID)


@pytest.fixture
def people(django_user_model):
    staff = make_user(django_user_model, "staff", STAFF_GROUP)
    approvers = [make_user(django_user_model, f"approver{number}", APPROVERS_GROUP) for number in range(3)]
    return staff, approvers


def approve_all(change_request, approvers):
    for approver in approvers:
        change_request = services.change_request_approve(
            change_request=change_request, reviewer=approver, digest=change_request.digest, comment="Checked the flows"
        )
    return change_request


def braze_flow(emulator, *, name: str, state: str = "enabled") -> str:
    source = emulator.create_source_connection("prod", BRAZE, name=f"{name} source")
    return emulator.create_flow("prod", GENERIC_STREAMING_ID, [source["id"]], name=name, state=state)["id"]


def flow_reads(emulator) -> list[dict]:
    return emulator.log(method="GET", path=f"*{FLOWS}*")


def test_a_removal_names_its_dependent_dataflows_needs_an_acknowledgement_and_one_more_approval(emulator, spec, people):
    staff, approvers = people
    impact = impact_check(sandbox="prod", spec_id=GENERIC_STREAMING_ID, removed=[BRAZE], max_age=0)
    assert sorted(dataflow.name for dataflow in impact.enabled) == sorted(BRAZE_FLOWS)
    assert [dataflow.name for dataflow in impact.disabled] == [BRAZE_DISABLED]
    assert [dataflow.enabled for dataflow in impact.dataflows] == [True, True, False]  # enabled first
    assert all(dataflow.last_run in ("", "success", "failed") for dataflow in impact.dataflows)
    assert impact.summary({BRAZE: "Braze Currents"}) == (
        "removing Braze Currents affects 3 dataflows in prod (2 enabled)"
    )
    assert len(flow_reads(emulator)) == 1  # one filtered listing, no read of every dataflow

    with pytest.raises(services.ProposalError) as refused:
        propose(spec, staff, remove=[BRAZE])
    assert "2 enabled dataflows" in refused.value.message and "I have checked these 3 dataflows" in (
        refused.value.message
    )
    with pytest.raises(services.ProposalError) as miscounted:
        propose_acknowledged(spec, staff, acknowledged=2)
    assert miscounted.value.message == IMPACT_CHANGED.format(count=3, acknowledged=2)
    assert not ChangeRequest.objects.exists()

    change_request = propose_acknowledged(spec, staff, acknowledged=3)
    assert change_request.impact_enabled == 2
    needed = policy.requirement(change_request)
    assert needed.count == 3 and "1 more because 2 enabled dataflows use a removed id" in needed.why

    change_request = approve_all(change_request, approvers[:2])
    assert change_request.status == ChangeRequest.Status.PENDING
    assert emulator.log(method="PUT", path=SPEC_PATH) == []
    change_request = approve_all(change_request, approvers[2:])
    assert change_request.status == ChangeRequest.Status.APPLIED
    assert BRAZE not in documents.source_ids(emulator.document("prod", GENERIC_STREAMING_ID))
    applied = AuditEvent.objects.get(change_request_id=change_request.pk, action="change.applied")
    for name in [*BRAZE_FLOWS, BRAZE_DISABLED]:
        assert name in applied.detail
    assert "disabled" in applied.detail


def propose_acknowledged(spec, author, *, acknowledged):
    spec.refresh_from_db()
    ids = [spec_id for spec_id in documents.source_ids(spec.document) if spec_id != BRAZE]
    return services.change_request_propose(
        flow_spec=spec, source_ids=ids, reason="Braze is replaced", author=author, acknowledged=acknowledged
    )


def test_a_dataflow_created_after_the_review_stops_the_apply_as_stale(emulator, spec, people):
    staff, approvers = people
    change_request = propose_acknowledged(spec, staff, acknowledged=3)
    change_request = approve_all(change_request, approvers[:2])
    braze_flow(emulator, name="Braze Currents push events to AEP")

    change_request = approve_all(change_request, approvers[2:])

    assert change_request.status == ChangeRequest.Status.STALE
    assert emulator.log(method="PUT", path=SPEC_PATH) == []
    assert BRAZE in documents.source_ids(emulator.document("prod", GENERIC_STREAMING_ID))
    stale = AuditEvent.objects.get(change_request_id=change_request.pk, action="change.stale")
    assert "Braze Currents push events to AEP" in stale.detail and "Nothing was sent" in stale.detail
    latest = impact_check(sandbox="prod", spec_id=GENERIC_STREAMING_ID, removed=[BRAZE])
    assert len(latest.dataflows) == 4 and latest.checked_at >= change_request.created_at

    rebased = services.change_request_rebase(change_request=change_request, actor=staff)
    assert rebased.impact_enabled == 3 and policy.requirement(rebased).count == 3
    rebased = approve_all(rebased, approvers)
    assert rebased.status == ChangeRequest.Status.APPLIED


def test_dataflows_that_cannot_be_read_block_the_apply_and_leave_it_retryable(emulator, spec, people):
    staff, approvers = people
    change_request = propose_acknowledged(spec, staff, acknowledged=3)
    emulator.add_fault(action="respond", method="GET", path=f"*{FLOWS}", status=503)

    change_request = approve_all(change_request, approvers)

    assert change_request.status == ChangeRequest.Status.FAILED
    assert change_request.error_code == "impact-unknown"
    assert "Nothing was sent" in change_request.error_detail and "503" in change_request.error_detail
    assert emulator.log(method="PUT", path=SPEC_PATH) == []
    failed = AuditEvent.objects.get(change_request_id=change_request.pk, action="change.apply_failed")
    assert failed.outcome == "failure" and "could not be read" in failed.detail
    assert policy.can_retry(approvers[0], change_request)

    emulator.clear_faults()
    change_request = services.change_request_retry(change_request=change_request, reviewer=approvers[0])
    assert change_request.status == ChangeRequest.Status.APPLIED


def test_every_dependent_dataflow_is_found_across_pages(emulator, spec, settings):
    settings.FLOWADMIN_IMPACT_PAGE_SIZE = 2
    extra = [braze_flow(emulator, name=f"Braze Currents extra {number}", state="disabled") for number in range(3)]
    emulator.seed_dataflows("prod", 20, flow_spec_ids=[CRM_TO_AEP_ID])  # dataflows of another flow spec
    emulator.clear_log()

    impact = impact_check(sandbox="prod", spec_id=GENERIC_STREAMING_ID, removed=[BRAZE], max_age=0)

    assert impact.ok and len(impact.dataflows) == 6
    assert set(extra) <= impact.ids
    assert len(flow_reads(emulator)) == 3 == impact.requests


def test_a_dependent_dataflow_enabled_after_the_review_stops_the_apply_as_stale(emulator, spec, people):
    staff, approvers = people
    change_request = propose_acknowledged(spec, staff, acknowledged=3)
    disabled = Impact.from_dict(change_request.impact).disabled[0]
    response = emulator.post(f"{FLOWS}/{disabled.id}/action", sandbox="prod", params={"op": "enable"})
    assert response.status_code == 200

    change_request = approve_all(change_request, approvers)

    assert change_request.status == ChangeRequest.Status.STALE
    assert emulator.log(method="PUT", path=SPEC_PATH) == []
    stale = AuditEvent.objects.get(change_request_id=change_request.pk, action="change.stale")
    assert f"{BRAZE_DISABLED} ({disabled.id}, enabled)" in stale.detail


def test_many_removed_ids_are_asked_for_in_a_few_listings(emulator, spec, settings):
    removed = [BRAZE, *(f"00000000-0000-4000-8000-{number:012d}" for number in range(60))]
    emulator.clear_log()

    impact = impact_check(sandbox="prod", spec_id=GENERIC_STREAMING_ID, removed=removed, max_age=0)

    assert impact.ok and len(impact.dataflows) == 3
    assert len(flow_reads(emulator)) == 2  # 61 ids: two filters of at most 50
