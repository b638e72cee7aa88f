"""Change requests name what their ids point at: the queue, the request page, audit text and e-mails."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowadmin.audit.models import AuditEvent
from flowadmin.changes.common import change_names, describe
from tests.changes.conftest import ACME_EVENTS, BRAZE, SEGMENT, STREAMING_ID
from tests.changes.factories import propose

pytestmark = pytest.mark.django_db


def visible(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_the_queue_names_the_flow_spec_and_the_sandbox_and_keeps_the_id_copyable(
    approver_client, remote, streaming_spec, staff_user
):
    propose(streaming_spec, staff_user, add=[ACME_EVENTS])

    response = approver_client.get(reverse("changes:queue"))

    assert "GenericStreamingAEP" in visible(response)
    assert f'data-copy="{STREAMING_ID}"' in response.text
    assert f'title="{STREAMING_ID}">{STREAMING_ID[:8]}…</code>' in response.text
    assert "Dev (dev)" in visible(response)


def test_the_queue_costs_the_same_queries_for_many_requests(
    client, approver_user, remote, streaming_spec, rest_spec, staff_user, django_assert_num_queries
):
    client.force_login(approver_user)
    propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("changes:queue"), {"show": "all"})
    propose(rest_spec, staff_user, add=[SEGMENT])

    with django_assert_num_queries(len(one)):
        page = client.get(reverse("changes:queue"), {"show": "all"})
    assert "RestStorageToAEP" in visible(page)


def test_the_request_page_names_the_sandbox_and_the_added_source(approver_client, remote, streaming_spec, staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])

    text = visible(approver_client.get(reverse("changes:detail", args=[change_request.pk])))

    assert "Dev (dev)" in text
    assert f"{ACME_EVENTS} Acme Events Stream" in text


def test_a_new_event_names_the_sources_it_adds_and_removes_and_is_found_by_their_whole_ids(
    auditor_client, remote, streaming_spec, staff_user
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS], remove=[BRAZE])

    event = AuditEvent.objects.get(action="change.proposed", change_request_id=change_request.pk)
    assert "adds Acme Events Stream (bdb5b792…); removes Braze Currents (5decd67e…)" in event.detail
    for whole_id in (ACME_EVENTS, BRAZE):
        found = auditor_client.get(reverse("audit:api"), {"q": whole_id}).json()["results"]
        assert [row["seq"] for row in found] == [event.seq]


def test_an_id_the_cache_does_not_know_stays_whole_in_the_words_of_a_change(catalog):
    unknown = "00000000-0000-4000-8000-00000000abcd"

    words = describe([ACME_EVENTS, unknown], [], change_names([ACME_EVENTS, unknown], []))

    assert words == f"adds Acme Events Stream (bdb5b792…), {unknown}"


def test_the_review_mail_names_the_sources_beside_their_ids(
    mailoutbox, remote, streaming_spec, staff_user, approver_user, django_capture_on_commit_callbacks
):
    approver_user.email = "approver@example.com"
    approver_user.save()
    with django_capture_on_commit_callbacks(execute=True):
        propose(streaming_spec, staff_user, add=[ACME_EVENTS])

    [mail] = mailoutbox
    assert f"  + {ACME_EVENTS}  Acme Events Stream" in mail.body
    assert "in sandbox Dev (dev)" in mail.body


def test_the_flow_spec_page_lists_its_change_requests_with_the_sources_named(
    staff_client, remote, streaming_spec, staff_user
):
    propose(streaming_spec, staff_user, add=[ACME_EVENTS])

    response = staff_client.get(reverse("catalog:flowspec", args=["dev", STREAMING_ID]))

    assert f"Acme Events Stream {ACME_EVENTS[:8]}… Copy" in visible(response)
    assert f'data-copy="{ACME_EVENTS}"' in response.text


def test_the_edit_page_names_the_sandbox_by_its_title(staff_client, remote, streaming_spec):
    text = visible(staff_client.get(reverse("changes:edit", args=["dev", STREAMING_ID])))

    assert "in sandbox Dev (dev)." in text
