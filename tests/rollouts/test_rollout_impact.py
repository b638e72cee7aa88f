"""A rollout that removes an id dataflows use, over real HTTP against the emulator: each sandbox's
dependent dataflows are shown, acknowledged, and cost its step one more approval."""

import pytest
from django.urls import reverse

from flowadmin.accounts.roles import STAFF_GROUP
from flowadmin.catalog.services import sandbox_sync
from flowadmin.rollouts import policy, selectors, services
from flowadmin.rollouts.errors import RolloutProposalError
from tests.conftest import make_user
from tests.fixtures.emulator import GENERIC_STREAMING_ID

BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"


@pytest.fixture(autouse=True)
def _synced(emulator, settings):
    for name in ("dev", "prod"):
        assert sandbox_sync(sandbox_name=name).ok


def propose(author, **options):
    return services.rollout_propose(
        spec_id=GENERIC_STREAMING_ID,
        sandboxes=["dev", "prod"],
        added=[],
        removed=[BRAZE],
        reason="Braze Currents is replaced",
        author=author,
        **options,
    )


def test_a_rollout_removal_needs_the_acknowledgement_and_one_more_approval_per_affected_step(django_user_model, client):
    staff = make_user(django_user_model, "staff", STAFF_GROUP)
    client.force_login(staff)
    page = client.post(
        reverse("rollouts:preview"),
        {"spec_id": GENERIC_STREAMING_ID, "remove_ids": BRAZE, "include_dev": "on", "include_prod": "on"},
    ).content.decode()
    assert "Removing Braze Currents affects 3 dataflows in prod (2 enabled)" in page
    assert "Braze Currents test events to AEP" in page  # dev's

    with pytest.raises(RolloutProposalError) as refused:
        propose(staff)
    assert "I have checked these" in " ".join(refused.value.problems)

    rollout = propose(staff, acknowledge_impact=True)
    steps = {step.sandbox: step for step in selectors.rollout_steps(rollout=rollout)}
    assert policy.step_requirement(steps["dev"]).count == 2  # development 1, one more
    assert policy.step_requirement(steps["prod"]).count == 3  # production 2, one more
    detail = client.get(reverse("rollouts:detail", args=[rollout.pk])).content.decode()
    assert "Dataflows that used the removed ids in prod when proposed" in detail
