"""The audit page's integrity panel: what auditors see of the checkpoints, cheaply, on every visit."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flowadmin.audit.checkpoints import checkpoint_if_new
from flowadmin.audit.integrity import TAIL_LIMIT

from .factories import bulk_events, tamper

INDEX = "/audit/"


def panel(client) -> str:
    response = client.get(INDEX)
    assert response.status_code == 200
    html = response.content.decode()
    found = re.search(r'<section id="audit-integrity".*?</section>', html, re.S)
    assert found, "the integrity panel is missing"
    return " ".join(found.group(0).split())


def test_the_page_says_through_which_event_the_log_is_verified_and_when_it_was_signed(signed_log, auditor_client):
    text = panel(auditor_client)

    assert "Verified through #20, signed checkpoint #3 at" in text
    assert "Events #21..#25 came after it: they link to it intact, and the next checkpoint will sign them." in text
    assert "message-error" not in text


def test_events_removed_up_to_the_checkpoint_are_shown_in_red_with_the_first_affected_event(signed_log, auditor_client):
    tamper("DELETE FROM audit_event WHERE seq > 17")

    text = panel(auditor_client)

    assert 'class="message message-error" role="alert"' in text
    assert 'First affected event: <a href="/audit/?before=19">#18</a>' in text
    assert "events #18..#20 are missing: signed checkpoint #3" in text


def test_checkpoints_removed_from_the_database_are_shown_from_the_directory(signed_log, auditor_client):
    tamper("DELETE FROM audit_event WHERE seq > 13")
    tamper("DELETE FROM audit_checkpoint WHERE number = 3")

    text = panel(auditor_client)

    assert "First affected event: <a" in text and ">#14</a>" in text
    assert "checkpoint #3 is in" in text and "but not in the database" in text


def test_a_rewritten_chain_is_shown_in_red(signed_log, auditor_client):
    tamper("UPDATE audit_event SET hash = %s WHERE seq = 20", ["0" * 63 + "1"])

    text = panel(auditor_client)

    assert "events #14..#20 do not match signed checkpoint #3" in text


def test_a_broken_link_after_the_checkpoint_is_shown_in_red(signed_log, auditor_client):
    tamper("DELETE FROM audit_event WHERE seq = %s", [23])

    text = panel(auditor_client)

    assert "First affected event: <a" in text and ">#23</a>" in text
    assert "1 event(s) missing: the chain jumps from #22 to #24" in text


def test_the_last_full_verification_is_shown_and_a_failed_one_in_red(signed_log, auditor_client):
    call_command("audit_verify", stdout=io.StringIO())
    assert "Last full verification" in panel(auditor_client)
    assert "25 events, verified through #20 (checkpoint #3)" in panel(auditor_client)

    tamper("UPDATE audit_event SET detail = %s WHERE seq = %s", ["edited", 7])
    with pytest.raises(CommandError):
        call_command("audit_verify", stdout=io.StringIO())

    text = panel(auditor_client)
    assert "The last full verification" in text and "found 1 problem; first affected event:" in text
    assert ">#7</a>" in text and "#7: content changed" in text
    assert "Verified through #0." in text


def test_without_a_full_verification_the_page_says_how_to_run_one(signed_log, auditor_client):
    assert "No full verification recorded yet: run <code>manage.py audit_verify</code>" in panel(auditor_client)


@pytest.mark.django_db
def test_without_a_key_under_production_settings_the_page_says_checkpoints_are_not_written(settings, auditor_client):
    settings.DEBUG = False
    settings.AUDIT_SIGNING_KEY = settings.AUDIT_SIGNING_KEY_FILE = ""

    text = panel(auditor_client)

    assert "Checkpoints are not being written: no signing key is configured" in text


@pytest.mark.django_db(transaction=True)
def test_with_the_development_key_the_page_says_so(settings, auditor_client, tmp_path):
    settings.DEBUG = True
    settings.AUDIT_SIGNING_KEY = settings.AUDIT_SIGNING_KEY_FILE = ""
    settings.AUDIT_DEV_KEY_FILE = tmp_path / "signing-key"
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    bulk_events(3)
    checkpoint_if_new()

    text = panel(auditor_client)

    assert "Verified through #3, signed checkpoint #1" in text
    assert f"Checkpoints are signed with a development key made on first use in <code>{tmp_path}/signing-key" in text


def test_the_panel_checks_at_most_a_bounded_tail_and_its_queries_do_not_grow(signed_log, auditor_client):
    with CaptureQueriesContext(connection) as small:
        auditor_client.get(INDEX)
    bulk_events(TAIL_LIMIT + 50)
    with CaptureQueriesContext(connection) as large:
        text = panel(auditor_client)

    assert len(large) == len(small)
    assert f"More than {TAIL_LIMIT} events came after it: the first {TAIL_LIMIT} link to it intact, the rest" in text


def test_filtering_with_htmx_does_not_check_again(signed_log, auditor_client):
    with CaptureQueriesContext(connection) as page:
        auditor_client.get(INDEX)
    with CaptureQueriesContext(connection) as fragment:
        response = auditor_client.get(INDEX, {"sandbox": "bulk"}, HTTP_HX_REQUEST="true")

    assert "audit-integrity" not in response.content.decode()
    assert not any("audit_checkpoint" in query["sql"] for query in fragment.captured_queries)
    assert any("audit_checkpoint" in query["sql"] for query in page.captured_queries)
