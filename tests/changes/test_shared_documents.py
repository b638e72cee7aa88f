"""A change request's page and the live preview read their document diff from the cache every process shares.

`documents.printed_forget` empties what this process keeps: the next request is what another process
would answer, with only the shared cache to read from.
"""

import html
import re

import pytest
from django.urls import reverse

from flowadmin import documents
from flowadmin.changes import preview, services
from tests.changes.conftest import ACME_EVENTS, BRAZE, CUSTOMER_IO, SEGMENT, STREAMING_ID
from tests.changes.factories import propose

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _cold():
    """What an earlier test of this process kept is not this one's: it starts as a new process would."""
    documents.printed_forget()


@pytest.fixture
def decodes(monkeypatch) -> list[int]:
    """Each document decoded (by `documents.decoded`, which every page uses)."""
    done: list[int] = []
    real = documents.decoded
    monkeypatch.setattr(documents, "decoded", lambda text: done.append(len(text)) or real(text))
    return done


@pytest.fixture
def large(monkeypatch):
    monkeypatch.setattr(preview, "LARGE_DOCUMENT_LINES", 10)  # the whole document comes on request


def derived(page: str) -> list[str]:
    """The parts of a page derived from the documents: diffs and the JSON Patch."""
    return re.findall(r'<pre class="diff".*?</pre>|<div class="diff-whole".*?</div>|<pre>\[.*?</pre>', page, re.S)


def test_another_process_shows_the_same_review_page_without_decoding_either_document(
    approver_client, remote, streaming_spec, staff_user, decodes, large
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    url = reverse("changes:detail", args=[change_request.pk])
    first = approver_client.get(url).text
    whole = approver_client.get(url, {"show": "document"}, **HTMX).text
    assert decodes, "the first view anywhere decodes"
    decodes.clear()
    documents.printed_forget()

    again = approver_client.get(url).text
    whole_again = approver_client.get(url, {"show": "document"}, **HTMX).text

    assert decodes == [], "read from the shared cache"
    assert derived(again) == derived(first) and derived(whole_again) == derived(whole)
    assert f'<span class="line add">    "{ACME_EVENTS}"</span>' in whole_again
    assert 'aria-label="The whole document"' in whole_again


def test_an_edited_request_never_shows_the_diff_of_its_earlier_proposal(
    approver_client, remote, streaming_spec, staff_user, large
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    url = reverse("changes:detail", args=[change_request.pk])
    approver_client.get(url)
    approver_client.get(url, {"show": "document"}, **HTMX)
    services.change_request_edit(
        change_request=change_request, actor=staff_user, source_ids=[BRAZE, CUSTOMER_IO, SEGMENT], reason="Segment"
    )
    documents.printed_forget()

    page = approver_client.get(url).text
    whole = approver_client.get(url, {"show": "document"}, **HTMX).text

    for shown in (page, whole):
        assert f'<span class="line add">    "{SEGMENT}"</span>' in shown
        assert f'"{ACME_EVENTS}"' not in shown


def test_the_whole_document_is_computed_again_when_only_its_diff_was_kept(
    approver_client, remote, streaming_spec, staff_user, large
):
    """The shared cache keeps a diff without its matched lines: a whole document not kept yet comes from the
    documents, every line of the proposal in it."""
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    url = reverse("changes:detail", args=[change_request.pk])
    approver_client.get(url)  # the diff kept; not the whole document (a large one's comes on request)
    documents.printed_forget()

    whole = html.unescape(approver_client.get(url, {"show": "document"}, **HTMX).text)

    proposed = documents.pretty_json(documents.put_body(change_request.proposed_document))
    assert all(line in whole for line in proposed.split("\n"))
    assert f'<span class="line add">    "{ACME_EVENTS}"</span>' in whole


def test_a_preview_shown_again_by_another_process_reads_its_diff(staff_client, remote, monkeypatch, large):
    diffs: list[dict] = []
    real = preview.document_diff
    monkeypatch.setattr(preview, "document_diff", lambda **given: diffs.append(given) or real(**given))
    url = reverse("changes:preview", args=["dev", STREAMING_ID])
    data = {"source_connection_spec_ids": "\n".join([BRAZE, CUSTOMER_IO, ACME_EVENTS]), "reason": "x"}
    first = staff_client.post(url, {**data, "show": "document"}, **HTMX).text
    assert diffs, "the first view anywhere diffs"
    documents.printed_forget()
    diffs.clear()

    again = staff_client.post(url, {**data, "show": "document"}, **HTMX).text
    other = staff_client.post(url, {**data, "source_connection_spec_ids": BRAZE, "show": "document"}, **HTMX).text

    assert len(diffs) == 1, "only the other list is diffed"
    assert derived(again) == derived(first)
    assert f'<span class="line add">    "{ACME_EVENTS}"</span>' in again
    assert f'<span class="line del">    "{CUSTOMER_IO}"</span>' in other and ACME_EVENTS not in other
