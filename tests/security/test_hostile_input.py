"""Hostile input typed or posted by a user: each gets a clear 4xx or a message, and nothing is saved.

Through HTTP with the Django test client, CSRF enforced like a browser would have it.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec
from flowadmin.changes.models import ChangeRequest
from tests.catalog.factories import make_connection_spec, make_flowspec, make_sandbox
from tests.reliability.helpers import ACME_EVENTS, STREAMING_ID

BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
EDIT = f"/sandboxes/dev/flowspecs/{STREAMING_ID}/edit/"
PREVIEW = f"/sandboxes/dev/flowspecs/{STREAMING_ID}/preview/"
FULLWIDTH_FIVE = "\uff15"  # FULLWIDTH DIGIT FIVE
CYRILLIC_A = "\u0430"  # CYRILLIC SMALL LETTER A


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
def test_ten_thousand_unknown_ids_are_each_reported_and_nothing_is_saved(browser, spec):
    ids = "\n".join(str(uuid.uuid4()) for _ in range(10_000))
    response = propose(browser, ids)
    assert response.status_code == 200
    assert response.text.count("is not a connection spec of sandbox") >= 10_000
    assert "Line 10000:" in response.text
    nothing_saved(spec)


def test_ten_thousand_junk_lines_in_the_live_preview_are_reported_per_line(browser, spec):
    data = {"source_connection_spec_ids": "x\n" * 10_000, "reason": "", "csrfmiddlewaretoken": csrf(browser, EDIT)}
    response = browser.post(PREVIEW, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Line 10000: “x” is not a UUID" in response.text
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
