"""Rollouts and the drift view name the sources and sandboxes they list; the ids stay there to copy."""

import html
import re

import pytest
from django.urls import reverse

from flowadmin.audit.models import AuditEvent
from flowadmin.rollouts import services
from tests.rollouts.conftest import ACME_EVENTS, CUSTOMER_IO, STREAMING_ID

pytestmark = pytest.mark.django_db
ORDER = ["dev", "stage", "prod"]


def visible(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def propose(author):
    return services.rollout_propose(
        spec_id=STREAMING_ID, sandboxes=ORDER, added=[ACME_EVENTS], removed=[], reason="Acme goes live", author=author
    )


def test_the_rollout_page_names_the_added_source_and_the_steps_sandboxes(staff_client, remote, staff_user):
    rollout = propose(staff_user)

    response = staff_client.get(reverse("rollouts:detail", args=[rollout.pk]))

    text = visible(response)
    assert f"Acme Events Stream {ACME_EVENTS[:8]}… Copy" in text
    assert f'data-copy="{ACME_EVENTS}"' in response.text
    assert "Step 3: Prod (prod)" in text


def test_the_rollout_event_names_the_source_and_is_found_by_its_whole_id(auditor_client, remote, staff_user):
    rollout = propose(staff_user)

    event = AuditEvent.objects.get(action="rollout.proposed")
    assert "adds Acme Events Stream (bdb5b792…)" in event.detail
    found = auditor_client.get(reverse("audit:api"), {"q": ACME_EVENTS, "action": "rollout.proposed"}).json()
    assert [row["seq"] for row in found["results"]] == [event.seq]
    assert rollout.pk


def test_the_drift_view_names_what_a_sandbox_lacks(staff_client, specs):
    response = staff_client.get(reverse("rollouts:drift", args=[STREAMING_ID]), {"reference": "dev"})

    text = visible(response)
    assert f"lacks Customer.io {CUSTOMER_IO[:8]}… Copy" in text
    assert f'data-copy="{CUSTOMER_IO}"' in response.text
    assert "Prod (prod)" in text


def test_the_review_mail_names_the_source_and_the_sandboxes(
    mailoutbox, remote, staff_user, approver_user, django_capture_on_commit_callbacks
):
    approver_user.email = "approver@example.com"
    approver_user.save()
    with django_capture_on_commit_callbacks(execute=True):
        propose(staff_user)

    [mail] = mailoutbox
    assert f"  + {ACME_EVENTS}  Acme Events Stream" in mail.body
    assert "Sandboxes, in order: Dev (dev), Stage (stage), Prod (prod)" in mail.body
