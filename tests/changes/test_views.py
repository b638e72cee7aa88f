"""The change-request pages: permissions, the edit form and its live preview, review and decisions."""

import html
import json
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from flowadmin import documents
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec
from flowadmin.changes import preview, views
from flowadmin.changes.context_processors import pending_count
from flowadmin.changes.forms import EMPTY_NEEDS_CONFIRMATION
from flowadmin.changes.ids import DUPLICATE, NOT_A_UUID, WHY_CHARACTER, WHY_WRAPPED
from flowadmin.changes.ids import UNKNOWN as UNKNOWN_ID
from flowadmin.changes.models import ChangeRequest
from flowadmin.changes.services import (
    ALREADY_DECIDED,
    DIGEST_MISMATCH,
    FOUR_EYES,
    NOT_AUTHOR,
    OPEN_REQUEST_EXISTS,
    change_request_reject,
    change_request_withdraw,
)
from tests.changes.conftest import ACME_EVENTS, ACME_LOYALTY, BRAZE, CUSTOMER_IO, DATA_LAKE, SEGMENT, STREAMING_ID
from tests.changes.factories import propose
from tests.changes.fakes import server_error

pytestmark = pytest.mark.django_db

EDIT = reverse("changes:edit", args=["dev", STREAMING_ID])
PREVIEW = reverse("changes:preview", args=["dev", STREAMING_ID])
HTMX = {"HTTP_HX_REQUEST": "true"}


def detail_url(change_request, name="detail"):
    return reverse(f"changes:{name}", args=[change_request.pk])


def textarea(response) -> str:
    """The id list as the page gives it back (what a browser shows in the textarea)."""
    match = re.search(r'<textarea name="source_connection_spec_ids"[^>]*>\n(.*?)</textarea>', response.text, re.S)
    assert match, "no id textarea on the page"
    return html.unescape(match.group(1))


def preview_section(text: str) -> str:
    match = re.search(r'<section id="preview".*?</section>', text, re.S)
    assert match, "no preview section"
    return match.group(0)


def visible_text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def lines_of(*ids) -> str:
    return "\n".join(ids)


def form(ids: str, reason: str = "Acme goes live", **extra) -> dict:
    return {"source_connection_spec_ids": ids, "reason": reason, **extra}


# --- permissions -------------------------------------------------------------------------------
ROLES = ["anonymous", "viewer_user", "staff_user", "approver_user", "auditor_user"]
# view -> expected status per role (the pending request is the staff user's own)
MATRIX = {
    "edit": (302, 403, 200, 403, 403),
    "preview": (302, 403, 200, 403, 403),
    "queue": (302, 200, 200, 200, 200),
    "detail": (302, 200, 200, 200, 200),
    "check": (302, 200, 200, 200, 200),
    "approve": (302, 403, 403, 302, 403),
    "reject": (302, 403, 403, 302, 403),
    "withdraw": (302, 403, 302, 403, 403),
    "retry": (302, 403, 403, 302, 403),
    "rebase": (302, 403, 302, 403, 403),
}


@pytest.mark.parametrize("view", list(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_permissions_of_every_view(request, client, remote, streaming_spec, staff_user, view, role):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    user = None if role == "anonymous" else request.getfixturevalue(role)
    if user is not None:
        client.force_login(user)
    expected = MATRIX[view][ROLES.index(role)]
    if view in ("edit", "preview"):
        url = EDIT if view == "edit" else PREVIEW
    elif view == "queue":
        url = reverse("changes:queue")
    else:
        url = detail_url(change_request, view)
    if view in ("edit", "queue", "detail", "check"):
        response = client.get(url)
    else:
        data = {"digest": change_request.digest, "comment": "no", **form(lines_of(BRAZE, CUSTOMER_IO, SEGMENT))}
        response = client.post(url, data)
    assert response.status_code == expected
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    if expected == 403:
        assert b"Not allowed" in response.content
        assert ChangeRequest.objects.get(pk=change_request.pk).status == "pending"
        assert ChangeRequest.objects.count() == 1


# --- the edit page -----------------------------------------------------------------------------
def test_the_edit_page_is_prefilled_with_the_current_ids(staff_client, remote):
    response = staff_client.get(EDIT)
    assert response.status_code == 200
    assert textarea(response) == lines_of(BRAZE, CUSTOMER_IO)
    assert 'name="reason"' in response.text
    assert 'hx-trigger="input changed delay:400ms from:#id_source_connection_spec_ids' in response.text
    assert f'hx-post="{PREVIEW}"' in response.text
    assert f'formaction="{PREVIEW}"' in response.text


def test_the_picker_offers_connection_specs_no_flow_spec_uses(staff_client, remote):
    response = staff_client.get(EDIT)
    offered = re.findall(r'name="add_id" value="([0-9a-f-]+)"', response.text)
    assert offered == [ACME_EVENTS, SEGMENT]  # by name: Acme Events Stream, Twilio Segment
    assert "Add Acme Events Stream" in response.text
    for used in (BRAZE, CUSTOMER_IO, ACME_LOYALTY, DATA_LAKE):
        assert used not in offered
    assert f'data-add-id="{ACME_EVENTS}"' in response.text


def test_the_picker_works_without_javascript(staff_client, remote):
    typed = lines_of(BRAZE, CUSTOMER_IO) + "\n\n"
    response = staff_client.post(EDIT, {**form(typed), "add_id": ACME_EVENTS})
    assert response.status_code == 200
    assert textarea(response) == lines_of(BRAZE, CUSTOMER_IO, ACME_EVENTS)
    assert "Acme Events Stream" in preview_section(response.text)
    assert ChangeRequest.objects.count() == 0


def test_submit_creates_a_pending_request_and_redirects_to_it(staff_client, remote, staff_user):
    response = staff_client.post(EDIT, form(lines_of(BRAZE, CUSTOMER_IO, ACME_EVENTS), submit="1"))
    change_request = ChangeRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(change_request)
    assert (change_request.author, change_request.added_ids) == (staff_user, [ACME_EVENTS])
    page = staff_client.get(response["Location"])
    assert f"Change request #{change_request.pk} was submitted for review." in page.text


BAD_INPUT = [
    ("spaces and upper case are fine", f"  {BRAZE.upper()}  \n{CUSTOMER_IO}\n   {ACME_EVENTS.upper()}\t", []),
    (
        "braces",
        f"{BRAZE}\n{{{ACME_EVENTS}}}",
        [NOT_A_UUID.format(line=2, text="{" + ACME_EVENTS + "}", why=WHY_WRAPPED)],
    ),
    ("not a uuid", f"{BRAZE}\n\nhello world", [NOT_A_UUID.format(line=3, text="hello world", why="")]),
    ("duplicate", f"{BRAZE}\n{CUSTOMER_IO}\n{BRAZE}", [DUPLICATE.format(line=3, id=BRAZE, first=1)]),
    (
        "nul byte",
        f"{BRAZE}\n{ACME_EVENTS[:10]}\x00{ACME_EVENTS[11:]}",
        [
            NOT_A_UUID.format(
                line=2,
                text=f"{ACME_EVENTS[:10]}\\x00{ACME_EVENTS[11:]}",
                why=WHY_CHARACTER.format(char="U+0000"),
            )
        ],
    ),
    (
        "html and script",
        f'{BRAZE}\n<script>alert("x")</script>',
        [NOT_A_UUID.format(line=2, text='<script>alert("x")</script>', why="")],
    ),
    (
        "look-alike digit",
        f"{BRAZE}\n{ACME_EVENTS[:-1]}\uff45",
        [
            NOT_A_UUID.format(
                line=2,
                text=f"{ACME_EVENTS[:-1]}\uff45",
                why=WHY_CHARACTER.format(char="U+FF45 FULLWIDTH LATIN SMALL LETTER E"),
            )
        ],
    ),
    (
        "unknown",
        f"{BRAZE}\n00000000-0000-4000-8000-000000000000",
        [UNKNOWN_ID.format(line=2, id="00000000-0000-4000-8000-000000000000", sandbox="dev")],
    ),
]


@pytest.mark.parametrize(("case", "typed", "messages"), BAD_INPUT, ids=[case for case, _, _ in BAD_INPUT])
def test_bad_input_gets_per_line_messages_and_keeps_the_text_as_typed(staff_client, remote, case, typed, messages):
    response = staff_client.post(EDIT, form(typed, submit="1"))
    if not messages:
        assert response.status_code == 302
        assert ChangeRequest.objects.get().added_ids == [ACME_EVENTS]
        return
    assert response.status_code == 200
    assert textarea(response) == typed
    errors = re.search(r'<ul class="errorlist" id="ids-errors".*?</ul>', response.text, re.S).group(0)
    assert [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", errors, re.S)] == messages
    assert "<script>alert" not in response.text  # escaped, never markup
    assert ChangeRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_every_line_up_to_the_maximum_gets_a_message(staff_client, remote, settings):
    settings.FLOWADMIN_MAX_IDS = 2000
    typed = "\n".join(f"junk {number}" for number in range(1, 2001))
    response = staff_client.post(EDIT, form(typed, submit="1"))
    assert response.status_code == 200
    assert textarea(response) == typed
    assert NOT_A_UUID.format(line=2000, text="junk 2000", why="") in html.unescape(response.text)
    assert ChangeRequest.objects.count() == 0


def test_an_empty_list_needs_the_confirmation_checkbox(staff_client, remote):
    response = staff_client.post(EDIT, form("\n \n", submit="1"))
    assert response.status_code == 200
    assert EMPTY_NEEDS_CONFIRMATION in html.unescape(response.text)
    assert ChangeRequest.objects.count() == 0
    response = staff_client.post(EDIT, form("", submit="1", confirm_empty="on"))
    assert response.status_code == 302
    assert ChangeRequest.objects.get().removed_ids == [BRAZE, CUSTOMER_IO]


def test_a_proposal_that_changes_nothing_is_refused(staff_client, remote):
    response = staff_client.post(EDIT, form(lines_of(CUSTOMER_IO, BRAZE), submit="1"))
    assert response.status_code == 200
    assert "This proposal changes nothing" in response.text
    assert ChangeRequest.objects.count() == 0


def test_the_reason_is_required(staff_client, remote):
    response = staff_client.post(EDIT, form(lines_of(BRAZE, CUSTOMER_IO, ACME_EVENTS), reason="", submit="1"))
    assert response.status_code == 200
    assert "Say why this change is needed" in response.text
    assert textarea(response) == lines_of(BRAZE, CUSTOMER_IO, ACME_EVENTS)
    assert ChangeRequest.objects.count() == 0


def test_a_second_proposal_is_refused_with_a_link_to_the_open_one(
    client, remote, streaming_spec, staff_user, other_staff_user
):
    first = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(other_staff_user)
    page = client.get(EDIT)
    assert f'href="{detail_url(first)}"' in page.text
    response = client.post(EDIT, form(lines_of(BRAZE, CUSTOMER_IO, SEGMENT), submit="1"))
    assert response.status_code == 200
    assert OPEN_REQUEST_EXISTS.format(pk=first.pk) in html.unescape(response.text)
    assert f'href="{detail_url(first)}"' in response.text
    assert ChangeRequest.objects.count() == 1


def test_the_queue_pages_newest_first_and_keeps_its_filter(
    approver_client, remote, streaming_spec, staff_user, monkeypatch
):
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    first = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    change_request_withdraw(change_request=first, actor=staff_user)
    second = propose(streaming_spec, staff_user, add=[ACME_EVENTS])

    page = approver_client.get(reverse("changes:queue"), {"show": "all"}).text
    older = approver_client.get(reverse("changes:queue"), {"show": "all", "page": "2"}).text

    assert "Page 1 of 2" in page and 'href="?show=all&amp;page=2" rel="next">Older \u203a</a>' in page
    assert f"#{second.pk}<" in page and f"#{first.pk}<" in older
    assert 'rel="prev">\u2039 Newer</a>' in older


# --- the live preview --------------------------------------------------------------------------
def test_htmx_and_plain_previews_show_the_same_content(staff_client, remote):
    data = form(lines_of(CUSTOMER_IO, ACME_EVENTS, "nope", ACME_EVENTS))
    fragment = staff_client.post(PREVIEW, data, **HTMX)
    page = staff_client.post(PREVIEW, data)
    assert fragment.status_code == page.status_code == 200
    assert fragment.text.strip().startswith('<section id="preview"')
    assert "<html" not in fragment.text
    assert "<html" in page.text
    assert textarea(page) == data["source_connection_spec_ids"]
    preview, summary = fragment.text.split('<p id="preview-summary"')
    assert visible_text(preview) == visible_text(preview_section(page.text))
    assert 'hx-swap-oob="true"' in summary, "the one-line summary under the ids follows the preview"
    assert fragment["Vary"] == page["Vary"]
    assert "HX-Request" in fragment["Vary"]


def test_the_preview_shows_the_change_the_diff_the_patch_and_the_request(staff_client, remote, settings):
    response = staff_client.post(PREVIEW, form(lines_of(CUSTOMER_IO, ACME_EVENTS)), **HTMX)
    text = html.unescape(response.text)
    assert re.search(rf'<ins class="id-added"><code>{ACME_EVENTS}</code></ins> Acme Events Stream', text)
    assert re.search(rf'<del class="id-removed"><code>{BRAZE}</code></del> Braze Currents', text)
    assert f'<span class="line add">    "{ACME_EVENTS}"</span>' in text
    assert f'<span class="line del">    "{BRAZE}",</span>' in text
    assert "<details>" in text
    assert '"op": "remove"' in text
    curl = re.search(r'<pre id="curl-command">(.*?)</pre>', text, re.S).group(1)
    assert f"curl -X PUT {settings.PLATFORM_URL}/data/foundation/flowservice/flowSpecs/{STREAMING_ID} " in curl
    assert "-H 'Authorization: Bearer ***'" in curl
    assert "-H 'x-api-key: ***'" in curl
    assert f"-H 'x-gw-ims-org-id: {settings.ADOBE_ORG_ID}'" in curl
    assert "-H 'x-sandbox-name: dev'" in curl
    body = json.loads(re.search(r"--data-raw '(.*)'", curl, re.S).group(1))
    cached = documents.with_source_ids(remote.document("dev", STREAMING_ID), [CUSTOMER_IO, ACME_EVENTS])
    assert body == documents.put_body(cached)
    assert settings.ADOBE_CLIENT_ID not in response.text
    assert settings.ADOBE_CLIENT_SECRET not in response.text


def test_a_large_document_sends_its_whole_text_and_curl_only_when_asked(staff_client, remote, monkeypatch):
    monkeypatch.setattr(preview, "LARGE_DOCUMENT_LINES", 10)
    data = form(lines_of(CUSTOMER_IO, ACME_EVENTS))

    fragment = html.unescape(staff_client.post(PREVIEW, data, **HTMX).text)
    document = html.unescape(staff_client.post(PREVIEW, {**data, "show": "document"}, **HTMX).text)
    request = html.unescape(staff_client.post(PREVIEW, {**data, "show": "request"}, **HTMX).text)
    plain = staff_client.post(PREVIEW, {**data, "show": "document"})
    page = html.unescape(plain.text)

    assert f'<span class="line add">    "{ACME_EVENTS}"</span>' in fragment, "the changed lines come at once"
    assert 'aria-label="The whole document"' not in fragment and 'id="curl-command"' not in fragment
    assert """hx-vals='{"show": "document"}'""" in fragment and 'hx-trigger="toggle once"' in fragment
    assert 'aria-label="The whole document"' in document and '<section id="preview"' not in document
    far_from_the_change = f'<span class="line ctx">  "id": "{STREAMING_ID}",</span>'
    assert far_from_the_change in document and far_from_the_change not in fragment, "the whole document, not a hunk"
    assert "x-sandbox-name: dev" in request and 'id="curl-command"' in request
    assert '<details id="whole-document" open>' in page and 'aria-label="The whole document"' in page
    assert textarea(plain) == data["source_connection_spec_ids"], "without JavaScript the form keeps its text"


def test_a_change_request_of_a_large_document_shows_its_whole_text_on_request(
    approver_client, remote, streaming_spec, staff_user, monkeypatch
):
    monkeypatch.setattr(preview, "LARGE_DOCUMENT_LINES", 10)
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])

    page = approver_client.get(detail_url(change_request)).text
    fragment = approver_client.get(detail_url(change_request), {"show": "document"}, **HTMX).text

    assert 'hx-get="?show=document"' in page and 'href="?show=document#whole-document"' in page
    assert 'aria-label="The whole document"' not in page
    assert 'aria-label="The whole document"' in fragment and "<html" not in fragment


def test_the_whole_document_folds_long_unchanged_runs_which_open_on_request(
    approver_client, remote, streaming_spec, staff_user, monkeypatch
):
    monkeypatch.setattr(preview, "LARGE_DOCUMENT_LINES", 10)
    properties = {f"field{n:03d}": {"title": f"Field {n}", "type": "string"} for n in range(40)}
    properties["field007"]["description"] = '<script>alert("x")</script> & more'
    streaming_spec.document["optionSpec"]["spec"]["properties"] = properties
    streaming_spec.content_hash = documents.content_hash(streaming_spec.document)
    streaming_spec.save()
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])

    fragment = approver_client.get(detail_url(change_request), {"show": "document"}, **HTMX).text

    announced = r'<details class="diff-fold"><summary>(\d+) unchanged lines \(lines (\d+) to (\d+)\)</summary>'
    folds = re.findall(announced, fragment)
    assert folds, "a long unchanged run is folded, announced with its number of lines"
    assert all(int(count) == int(last) - int(first) + 1 for count, first, last in folds)
    assert f'<span class="line add">    "{ACME_EVENTS}"</span>' in fragment, "the change is marked, not folded"
    assert '&lt;script&gt;alert(\\"x\\")&lt;/script&gt; &amp; more' in fragment and "<script>alert" not in fragment
    proposed = documents.pretty_json(documents.put_body(change_request.proposed_document))
    shown = html.unescape(fragment)
    assert all(line in shown for line in proposed.split("\n")), "every line is in the page, folded or not"


def test_a_preview_saves_nothing_and_only_reads_dataflows_and_connection_specs(staff_client, remote):
    for data in (form(lines_of(CUSTOMER_IO, ACME_EVENTS)), form("garbage"), form("")):
        assert staff_client.post(PREVIEW, data, **HTMX).status_code == 200
        assert staff_client.post(PREVIEW, data).status_code == 200
    assert ChangeRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert {call for call, _, _ in remote.calls} == {"list_flows", "list_connection_specs"}  # never the flow spec
    # once per removal (Braze; then every id), each reading kept for the next preview of the same removal
    assert remote.count("list_flows") == 2


def test_the_preview_lists_problems_and_hides_the_request_until_they_are_fixed(staff_client, remote):
    response = staff_client.post(PREVIEW, form(lines_of(BRAZE, "{" + ACME_EVENTS + "}")), **HTMX)
    text = html.unescape(response.text)
    assert NOT_A_UUID.format(line=2, text="{" + ACME_EVENTS + "}", why=WHY_WRAPPED) in text
    assert "curl-command" not in text


def test_the_preview_asks_for_confirmation_of_an_empty_list(staff_client, remote):
    response = staff_client.post(PREVIEW, form(""), **HTMX)
    assert "The list is empty" in response.text


def test_propose_revert_prefills_the_inverse_change(client, remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS], remove=[BRAZE])
    client.force_login(approver_user)
    client.post(detail_url(change_request, "approve"), {"digest": change_request.digest})
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "applied"
    client.force_login(staff_user)
    page = client.get(detail_url(change_request))
    assert f'href="{EDIT}?revert={change_request.pk}"' in page.text
    response = client.get(f"{EDIT}?revert={change_request.pk}")
    assert textarea(response) == lines_of(CUSTOMER_IO, BRAZE)
    assert f"Revert change request #{change_request.pk}." in response.text
    assert f'<del class="id-removed"><code>{ACME_EVENTS}</code></del>' in response.text


# --- review ------------------------------------------------------------------------------------
def test_the_request_page_renders_from_the_database_and_loads_the_check(
    client, remote, streaming_spec, staff_user, approver_user
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(approver_user)
    response = client.get(detail_url(change_request))
    assert response.status_code == 200
    assert remote.calls == []  # the remote check comes as a fragment
    assert f'hx-get="{detail_url(change_request, "check")}" hx-trigger="load"' in response.text
    assert f'href="{detail_url(change_request, "check")}"' in response.text
    assert f'name="digest" value="{change_request.digest}"' in response.text
    assert "Approve and apply" in response.text
    assert "Reject" in response.text
    assert "change.proposed" in response.text
    assert f'<span class="line add">    "{ACME_EVENTS}"</span>' in html.unescape(response.text)


def test_the_author_sees_no_decision_buttons(staff_client, remote, streaming_spec, staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    response = staff_client.get(detail_url(change_request))
    assert "Approve and apply" not in response.text
    assert "Withdraw" in response.text
    assert "four-eyes" in response.text


def test_the_check_fragment_and_its_page_without_javascript(client, remote, streaming_spec, staff_user, viewer_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(viewer_user)
    fragment = client.get(detail_url(change_request, "check"), **HTMX)
    assert fragment.text.strip().startswith('<section id="remote-check"')
    assert "applies as reviewed" in fragment.text
    assert "Refresh" in fragment.text
    page = client.get(detail_url(change_request, "check"))
    assert "<html" in page.text
    assert "applies as reviewed" in page.text
    changed = remote.document("dev", STREAMING_ID)
    changed["version"] = "9"
    remote.add("dev", changed)
    fragment = client.get(detail_url(change_request, "check"), **HTMX)
    assert "remote changed — applies cleanly" in fragment.text
    assert '<span class="line add">  "version": "9",</span>' in fragment.text
    # The remote differs from the cache: the cache and its history take it, as a sync would, audited once.
    assert FlowSpec.objects.get(pk=streaming_spec.pk).document["version"] == "9"
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == ["change.proposed", "flowspec.changed_remotely"]
    client.get(detail_url(change_request, "check"), **HTMX)
    assert AuditEvent.objects.count() == 2


def test_a_remote_error_in_the_check_shows_its_title_and_request_id(client, remote, streaming_spec, staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    remote.fail("get", server_error(503, title="Service unavailable", request_id="req-abc"))
    client.force_login(staff_user)
    fragment = client.get(detail_url(change_request, "check"), **HTMX)
    assert "Service unavailable" in fragment.text
    assert "req-abc" in fragment.text


def test_approve_through_the_page_applies_and_says_so(client, remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(approver_user)
    response = client.post(detail_url(change_request, "approve"), {"digest": change_request.digest}, follow=True)
    assert response.redirect_chain[-1][0] == detail_url(change_request)
    assert views.APPLIED.format(pk=change_request.pk) in response.text
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "applied"
    assert remote.count("put") == 1


def test_approve_by_htmx_redirects_the_client(client, remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(approver_user)
    response = client.post(detail_url(change_request, "approve"), {"digest": change_request.digest}, **HTMX)
    assert response["HX-Redirect"] == detail_url(change_request)


def test_a_forged_approval_by_the_author_is_refused(client, remote, streaming_spec, superuser):
    change_request = propose(streaming_spec, superuser, add=[ACME_EVENTS])
    client.force_login(superuser)
    page = client.get(detail_url(change_request))
    assert "Approve and apply" not in page.text
    response = client.post(detail_url(change_request, "approve"), {"digest": change_request.digest})
    assert response.status_code == 403
    assert FOUR_EYES in html.unescape(response.text)
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "pending"
    assert remote.calls == []
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.outcome, event.actor) == ("change.approved", "failure", superuser)


def test_a_forged_approval_by_a_viewer_is_refused_by_the_rule_book_and_audited(
    client, remote, streaming_spec, staff_user, viewer_user
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(viewer_user)
    response = client.post(detail_url(change_request, "approve"), {"digest": change_request.digest})
    assert response.status_code == 403
    assert views.NEEDS_APPROVE in response.text
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "pending"
    refused = AuditEvent.objects.order_by("seq").last()
    assert (refused.action, refused.outcome, refused.actor_username) == ("change.approved", "failure", "viewer")
    assert refused.detail == f"Refused: {views.NEEDS_APPROVE}"
    assert remote.calls == []


def test_an_approval_for_another_digest_is_refused(client, remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(approver_user)
    for digest in ("", "f" * 64):
        response = client.post(detail_url(change_request, "approve"), {"digest": digest})
        assert response.status_code == 403
        assert DIGEST_MISMATCH in html.unescape(response.text)
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "pending"
    assert remote.calls == []


def test_a_replayed_approval_says_so_and_sends_nothing(client, remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(approver_user)
    client.post(detail_url(change_request, "approve"), {"digest": change_request.digest})
    response = client.post(detail_url(change_request, "approve"), {"digest": change_request.digest}, follow=True)
    assert ALREADY_DECIDED.format(pk=change_request.pk, status="applied") in html.unescape(response.text)
    assert remote.count("put") == 1


def test_reject_needs_a_comment_on_the_page(client, remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(approver_user)
    response = client.post(detail_url(change_request, "reject"), {"comment": "  "})
    assert response.status_code == 200
    assert "Say why you reject it" in response.text
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "pending"
    assert AuditEvent.objects.count() == 1
    response = client.post(detail_url(change_request, "reject"), {"comment": "Wrong sandbox"}, follow=True)
    assert ChangeRequest.objects.get(pk=change_request.pk).review_comment == "Wrong sandbox"
    assert "Wrong sandbox" in response.text


def test_withdraw_by_someone_else_is_refused(client, remote, streaming_spec, staff_user, other_staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(other_staff_user)
    response = client.post(detail_url(change_request, "withdraw"))
    assert response.status_code == 403
    assert NOT_AUTHOR in response.text
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "pending"


def test_a_stale_request_offers_rebase_to_its_author(client, remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    changed = remote.document("dev", STREAMING_ID)
    changed["version"] = "1.1"
    remote.add("dev", changed)
    client.force_login(approver_user)
    response = client.post(detail_url(change_request, "approve"), {"digest": change_request.digest}, follow=True)
    assert "the remote document changed since it was proposed" in response.text
    assert "What changed remotely since the base" in response.text
    client.force_login(staff_user)
    page = client.get(detail_url(change_request))
    assert "Rebase onto the current document" in page.text
    response = client.post(detail_url(change_request, "rebase"))
    rebased = ChangeRequest.objects.get(rebased_from=change_request)
    assert response["Location"] == detail_url(rebased)


# --- the queue and the navigation --------------------------------------------------------------
def test_the_queue_filters(client, remote, streaming_spec, rest_spec, staff_user, approver_user, superuser):
    mine = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    theirs = propose(rest_spec, superuser, add=[SEGMENT])
    client.force_login(approver_user)

    def listed(show):
        response = client.get(reverse("changes:queue"), {"show": show})
        return [int(pk) for pk in re.findall(r'href="/changes/(\d+)/">#', response.text)]

    assert listed("pending") == [theirs.pk, mine.pk]
    assert listed("awaiting") == [theirs.pk, mine.pk]
    change_request_reject(change_request=mine, reviewer=approver_user, comment="no")
    assert listed("pending") == [theirs.pk]
    assert listed("decided") == [mine.pk]
    assert listed("all") == [theirs.pk, mine.pk]
    assert listed("mine") == []
    client.force_login(superuser)
    assert listed("awaiting") == []  # their own request does not await them
    assert listed("mine") == [theirs.pk]


def test_the_navigation_counts_pending_requests_in_one_query(
    rf, remote, streaming_spec, rest_spec, staff_user, approver_user, django_assert_num_queries
):
    propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    propose(rest_spec, staff_user, add=[SEGMENT])
    request = rf.get("/")
    request.user = approver_user
    approver_user.has_perm("accounts.approve_change")  # the navigation has loaded the permissions already
    with django_assert_num_queries(1):
        assert pending_count(request) == {"nav_pending_count": 2}
    request.user = staff_user
    assert pending_count(request) == {"nav_pending_count": 2}


def test_the_navigation_shows_the_count(client, remote, streaming_spec, staff_user, approver_user):
    propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(approver_user)
    assert '<span class="count" title="pending change requests">1</span>' in client.get("/").text


def test_anonymous_pages_count_nothing(rf):
    request = rf.get("/")
    request.user = AnonymousUser()
    assert pending_count(request) == {}


# --- the flow spec page hook -------------------------------------------------------------------
def test_the_flowspec_page_offers_propose_change_to_staff(client, remote, staff_user, viewer_user):
    url = reverse("catalog:flowspec", args=["dev", STREAMING_ID])
    client.force_login(staff_user)
    assert f'href="{EDIT}">Propose change</a>' in client.get(url).text
    client.force_login(viewer_user)
    page = client.get(url)
    assert "Propose change" not in page.text
    assert "No change request yet." in page.text


def test_the_flowspec_page_lists_its_requests_and_disables_propose_while_one_is_open(
    client, remote, streaming_spec, staff_user
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    client.force_login(staff_user)
    page = client.get(reverse("catalog:flowspec", args=["dev", STREAMING_ID]))
    assert '<button type="button" disabled aria-describedby="open-request-note">Propose change</button>' in page.text
    assert f'href="{detail_url(change_request)}">#{change_request.pk}</a>' in page.text
    assert f'<ins class="id-added"><span class="spec-ref">Acme Events Stream <code title="{ACME_EVENTS}">' in page.text
    assert f'data-copy="{ACME_EVENTS}"' in page.text


def test_the_preview_sends_a_one_line_summary_for_the_phone_layout(staff_client, remote):
    response = staff_client.post(PREVIEW, form(lines_of(CUSTOMER_IO, ACME_EVENTS, "nope")), **HTMX)
    summary = response.text.split('<p id="preview-summary"')[1]
    assert re.search(r'<span class="badge badge-bad">1 problem</span>', summary)
    fixed = staff_client.post(PREVIEW, form(lines_of(CUSTOMER_IO, ACME_EVENTS)), **HTMX)
    summary = visible_text(fixed.text.split('<p id="preview-summary"')[1])
    assert "1 added" in summary and "1 removed" in summary and "problem" not in summary


def test_a_refused_submit_opens_on_a_summary_that_links_each_problem_to_its_field(staff_client, remote):
    data = {"source_connection_spec_ids": lines_of(CUSTOMER_IO, "nope"), "reason": "", "submit": "1"}
    response = staff_client.post(EDIT, data)
    opening = '<div class="error-summary" id="error-summary" role="alert" tabindex="-1">'
    summary = re.search(re.escape(opening) + r"(.*?)</div>", response.text, re.S)
    assert summary, "the summary comes first, focusable"
    text = summary.group(1)
    assert "Nothing was submitted: 2 things to fix" in text
    assert '<a href="#id_source_connection_spec_ids">' in text and '<a href="#id_reason">' in text
    assert response.text.index('id="error-summary"') < response.text.index('id="change-form"')
