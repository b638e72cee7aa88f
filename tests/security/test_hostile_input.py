"""Hostile input typed or posted by a user: each gets a clear 4xx or a message, and nothing is saved.

Through HTTP with the Django test client, CSRF enforced like a browser would have it.
"""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec
from flowadmin.changes.ids import TOO_MANY
from flowadmin.changes.models import ChangeRequest
from tests.catalog.factories import make_connection_spec, make_flowspec, make_sandbox
from tests.reliability.helpers import ACME_EVENTS, STREAMING_ID

BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
EDIT = f"/sandboxes/dev/flowspecs/{STREAMING_ID}/edit/"
PREVIEW = f"/sandboxes/dev/flowspecs/{STREAMING_ID}/preview/"
FULLWIDTH_FIVE = "\uff15"  # FULLWIDTH DIGIT FIVE
CYRILLIC_A = "\u0430"  # CYRILLIC SMALL LETTER A


@pytest.fixture
def spec(db):
    dev = make_sandbox("dev")
    make_connection_spec(dev, BRAZE, "Braze Currents")
    make_connection_spec(dev, ACME_EVENTS, "Acme Events Stream")
    return make_flowspec(dev, STREAMING_ID, "GenericStreamingAEP", sources=[BRAZE])


@pytest.fixture
def browser(staff_user) -> Client:
    """A signed-in staff member's browser: CSRF checks on, the token taken from a page like a form would."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    return client


def csrf(client: Client, page: str = "/") -> str:
    html = client.get(page).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def nothing_saved(spec) -> None:
    assert ChangeRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert FlowSpec.objects.get(pk=spec.pk).document == spec.document


def propose(client, ids: str, reason: str = "Onboard Acme", **extra):
    data = {"source_connection_spec_ids": ids, "reason": reason, "csrfmiddlewaretoken": csrf(client, EDIT)}
    return client.post(EDIT, data, **extra)


# --- NUL bytes ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "/sandboxes/dev%00/flowspecs/",
        f"/sandboxes/dev/flowspecs/{STREAMING_ID[:8]}%00{STREAMING_ID[9:]}/",
        f"/sandboxes/dev%00/flowspecs/{STREAMING_ID}/edit/",
        "/sandboxes/%00/",
    ],
)
def test_a_nul_byte_in_a_url_is_not_found_not_a_server_error(browser, spec, url):
    response = browser.get(url)
    assert response.status_code == 404
    assert "\x00" not in response.text
    assert "\\x00" in response.text


def test_a_nul_byte_in_the_flow_spec_search_finds_nothing(browser, spec):
    response = browser.get("/sandboxes/dev/flowspecs/?q=Generic%00")
    assert response.status_code == 200
    assert "GenericStreamingAEP" not in response.text.split("<main", 1)[1].split("</form>", 1)[1]


def test_a_nul_byte_in_an_id_line_or_the_reason_is_reported_and_nothing_is_saved(browser, spec):
    response = propose(browser, f"{BRAZE}\n{ACME_EVENTS[:4]}\x00{ACME_EVENTS[5:]}")
    assert response.status_code == 200
    assert "Line 2" in response.text and "U+0000" in response.text
    response = propose(browser, f"{BRAZE}\n{ACME_EVENTS}", reason="Acme\x00 goes live")
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.text
    nothing_saved(spec)


# --- oversize bodies ---------------------------------------------------------------------------
@pytest.mark.parametrize("url", [PREVIEW, EDIT])
def test_a_body_over_the_upload_limit_gets_a_clear_400_page_and_nothing_is_saved(browser, spec, settings, url):
    token = csrf(browser, EDIT)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    ids = "\n".join([BRAZE, ACME_EVENTS] * 2_000)  # about 150 kB
    response = browser.post(url, {"source_connection_spec_ids": ids, "reason": "Big", "csrfmiddlewaretoken": token})
    assert response.status_code == 400
    assert "Request too large or malformed" in response.text
    assert "Nothing was saved" in response.text
    assert response["Content-Type"].startswith("text/html")
    nothing_saved(spec)


def test_an_oversize_live_preview_gets_the_message_inside_the_preview(browser, spec, settings):
    token = csrf(browser, EDIT)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    ids = "\n".join([BRAZE, ACME_EVENTS] * 2_000)
    response = browser.post(
        PREVIEW, {"source_connection_spec_ids": ids, "csrfmiddlewaretoken": token}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert response["HX-Reswap"] == "innerHTML", "the preview keeps its triggers: the next keystroke tries again"
    assert response.text.startswith('<p class="lead message message-error" role="alert">')
    assert "larger than 48 kB" in response.text and "<html" not in response.text
    nothing_saved(spec)


def test_too_many_fields_get_the_same_400_page(browser, spec):
    token = csrf(browser, EDIT)
    data = {f"field{number}": "x" for number in range(1_500)}
    response = browser.post(EDIT, {**data, "csrfmiddlewaretoken": token})
    assert response.status_code == 400
    assert "Request too large or malformed" in response.text
    nothing_saved(spec)


# --- long lists and look-alikes -----------------------------------------------------------------
def _many_ids(count: int) -> str:
    return "\n".join(f"00000000-0000-4000-8000-{number:012d}" for number in range(count))


def test_a_list_over_the_maximum_is_refused_at_once_and_the_form_keeps_the_text(browser, spec, settings):
    settings.FLOWADMIN_MAX_IDS = 2000
    ids = _many_ids(100_000)  # 3.7 MB, under the body limit
    response = propose(browser, ids, reason="Bulk import")
    assert response.status_code == 200
    assert TOO_MANY.format(count=100_000, limit=2000) in response.text
    assert response.text.count("is not a connection spec") == 0, "no line is judged"
    textarea = re.search(r"<textarea[^>]*source_connection_spec_ids[^>]*>(.*?)</textarea>", response.text, re.S)
    assert textarea.group(1).strip() == ids, "what was typed comes back"
    assert "Bulk import" in response.text
    nothing_saved(spec)


def test_a_live_preview_far_over_the_maximum_is_refused_before_its_body_is_read(browser, spec, settings):
    settings.FLOWADMIN_MAX_IDS = 2000
    data = {"source_connection_spec_ids": _many_ids(100_000), "reason": "", "csrfmiddlewaretoken": csrf(browser, EDIT)}
    response = browser.post(PREVIEW, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Reswap"] == "innerHTML", "the preview keeps its triggers: the next keystroke tries again"
    text = html.unescape(response.text)
    assert "The text sent is 3.5\xa0MB: a proposal can hold at most 2,000 connection spec ids" in text
    assert '<h2 id="preview-heading">Preview</h2>' in text
    assert len(response.content) < 1_000, "the answer does not grow with the text"
    nothing_saved(spec)


def test_a_live_preview_just_over_the_maximum_counts_its_lines(browser, spec, settings):
    settings.FLOWADMIN_MAX_IDS = 2000
    data = {"source_connection_spec_ids": _many_ids(2001), "reason": "", "csrfmiddlewaretoken": csrf(browser, EDIT)}
    response = browser.post(PREVIEW, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert TOO_MANY.format(count=2001, limit=2000) in html.unescape(response.text)
    assert "Line 1:" not in response.text
    nothing_saved(spec)


def test_a_signed_out_live_preview_is_not_answered_with_the_refusal(client, spec, settings):
    settings.FLOWADMIN_MAX_IDS = 2000
    response = client.post(PREVIEW, {"source_connection_spec_ids": _many_ids(100_000)}, HTTP_HX_REQUEST="true")
    assert "connection spec ids" not in response.text
    # htmx is sent to the login page as a whole page, and back to the page the request came from.
    assert response["HX-Redirect"] == "/accounts/login/?next=/"


def test_a_list_at_the_maximum_is_reported_per_line(browser, spec, settings):
    settings.FLOWADMIN_MAX_IDS = 2000
    data = {"source_connection_spec_ids": "x\n" * 2000, "reason": "", "csrfmiddlewaretoken": csrf(browser, EDIT)}
    response = browser.post(PREVIEW, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Line 2000: “x” is not a UUID" in response.text
    nothing_saved(spec)


def test_a_rollout_preview_over_the_maximum_shows_why_in_the_plan(browser, spec, settings):
    settings.FLOWADMIN_MAX_IDS = 2000
    token = csrf(browser, f"/rollouts/new/?spec_id={STREAMING_ID}")
    data = {
        "spec_id": STREAMING_ID,
        "add_ids": _many_ids(40_000),
        "reason": "",
        "include_dev": "on",
        "csrfmiddlewaretoken": token,
    }
    response = browser.post("/rollouts/new/preview/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "a proposal can hold at most 2,000 connection spec ids" in html.unescape(response.text)
    assert '<h2 id="plan-heading">' in response.text
    assert len(response.content) < 1_000
    data["add_ids"] = _many_ids(2001)
    response = browser.post("/rollouts/new/preview/", data, HTTP_HX_REQUEST="true")
    assert TOO_MANY.format(count=2001, limit=2000) in html.unescape(response.text)
    nothing_saved(spec)


@pytest.mark.parametrize(
    ("lookalike", "named"),
    [
        (ACME_EVENTS.replace("5", FULLWIDTH_FIVE, 1), "U+FF15"),
        (ACME_EVENTS.replace("a", CYRILLIC_A, 1), "U+0430"),
        (ACME_EVENTS.replace("-", "\u2010", 1), "U+2010"),  # HYPHEN
    ],
    ids=["fullwidth-digit", "cyrillic-a", "unicode-hyphen"],
)
def test_unicode_look_alikes_of_hex_digits_are_refused_by_name(browser, spec, lookalike, named):
    assert lookalike != ACME_EVENTS
    response = propose(browser, f"{BRAZE}\n{lookalike}")
    assert response.status_code == 200
    assert f"Line 2: “{lookalike}” is not a UUID" in response.text
    assert named in response.text
    nothing_saved(spec)
    assert browser.get(f"/sandboxes/dev/flowspecs/{STREAMING_ID.replace('a', CYRILLIC_A)}/").status_code == 404
