"""The flow spec page reads what it derives from a document from the cache every process shares.

`documents.printed_forget` empties what this process keeps: the next request is what another process
(another worker, a fresh one) would answer, with only the shared cache to read from.
"""

import re

import pytest
from django.core.cache.backends.base import BaseCache
from django.urls import reverse
from django.utils import timezone

from flowadmin import documents
from flowadmin.catalog import selectors
from flowadmin.catalog.services import flowspec_cache_store
from flowadmin.documents import diff as printing
from tests.catalog.factories import make_connection_spec, make_flowspec, make_sandbox
from tests.catalog.fakes import DATA_LAKE, HTTP_API, S3, STREAMING_ID, UNKNOWN_ID, flow_spec

URL = reverse("catalog:flowspec", args=["dev", STREAMING_ID])


class BrokenCache(BaseCache):
    """A cache server that is down: every call fails."""

    def __init__(self, location, params):
        super().__init__(params)

    def get(self, key, default=None, version=None):
        raise ConnectionError("the cache is down")

    def set(self, key, value, timeout=None, version=None):
        raise ConnectionError("the cache is down")

    def clear(self):
        raise ConnectionError("the cache is down")


@pytest.fixture(autouse=True)
def _cold():
    """What an earlier test of this process kept is not this one's: it starts as a new process would."""
    documents.printed_forget()


@pytest.fixture
def dev(db):
    sandbox = make_sandbox("dev", last_synced_at=timezone.now())
    make_connection_spec(sandbox, HTTP_API, "HTTP API")
    make_flowspec(sandbox, STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API])
    document = flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API, UNKNOWN_ID])
    flowspec_cache_store(sandbox_name="dev", document=document, origin="sync")
    return sandbox


@pytest.fixture
def work(monkeypatch) -> list[str]:
    """What the page computes: each document decoded, each value printed."""
    done: list[str] = []
    real_pretty, real_decoded = printing.pretty, selectors.decoded
    monkeypatch.setattr(printing, "pretty", lambda value, indent="": done.append("print") or real_pretty(value, indent))
    monkeypatch.setattr(selectors, "decoded", lambda text: done.append("decode") or real_decoded(text))
    return done


def shown(page: str) -> dict[str, str]:
    """The parts of the page derived from the documents."""
    return {
        "document": re.search(r'<pre id="flowspec-document">.*?</pre>', page, re.S).group(0),
        "ids": re.findall(r'<ul class="connection-specs">.*?</ul>', page, re.S),
        "diff": re.search(r'<pre class="diff".*?</pre>', page, re.S).group(0),
    }


def test_another_process_shows_the_same_page_from_the_shared_cache_without_decoding_or_printing(
    staff_client, dev, work
):
    first = staff_client.get(URL).text
    assert "decode" in work and "print" in work, "the first view anywhere computes"
    work.clear()
    documents.printed_forget()

    again = staff_client.get(URL).text

    assert work == [], "read from the shared cache"
    assert shown(again) == shown(first)
    assert f'"{HTTP_API}"' in shown(again)["document"]


def test_a_changed_document_never_shows_what_was_derived_from_the_one_before(staff_client, dev):
    staff_client.get(URL)
    flowspec_cache_store(
        sandbox_name="dev", document=flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=[S3]), origin="sync"
    )
    documents.printed_forget()

    page = shown(staff_client.get(URL).text)

    assert f'"{S3}"' in page["document"] and f'"{HTTP_API}"' not in page["document"]
    assert any(S3 in ids for ids in page["ids"]) and not any(HTTP_API in ids for ids in page["ids"])
    assert f'<span class="line add">    "{S3}"</span>' in page["diff"]


def test_names_are_read_anew_while_the_ids_come_from_the_shared_cache(staff_client, dev):
    staff_client.get(URL)
    documents.printed_forget()
    make_connection_spec(dev, UNKNOWN_ID, "Now known")

    page = staff_client.get(URL).text

    assert f"<code>{UNKNOWN_ID}</code> Now known</li>" in page


@pytest.mark.parametrize(
    "backend", ["tests.catalog.test_shared_documents.BrokenCache", "django.core.cache.backends.dummy.DummyCache"]
)
def test_the_page_is_the_same_when_the_shared_cache_is_down_or_keeps_nothing(staff_client, dev, settings, backend):
    expected = shown(staff_client.get(URL).text)
    settings.CACHES = {**settings.CACHES, "documents": {"BACKEND": backend}}

    for _ in range(2):
        documents.printed_forget()
        assert shown(staff_client.get(URL).text) == expected


def test_a_cache_directory_that_cannot_be_made_is_told_once_and_the_pages_still_show(
    staff_client, dev, settings, tmp_path, caplog
):
    from flowadmin import derived

    expected = shown(staff_client.get(URL).text)
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # no directory can be made under a file, whoever runs the server
    where = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(blocked / "cache")}
    settings.CACHES = {**settings.CACHES, "documents": where}
    derived._told.clear()

    with caplog.at_level("WARNING", logger="flowadmin.derived"):
        for _ in range(3):
            documents.printed_forget()
            assert shown(staff_client.get(URL).text) == expected

    told = [record.getMessage() for record in caplog.records if "DOCUMENTS_CACHE_URL" in record.getMessage()]
    assert len(told) == 2, told  # could not read, could not write: each once, not at every page
    assert all("Not a directory" in message for message in told)


def test_the_page_escapes_every_id_and_name_it_lists(staff_client, dev):
    hostile = '<b>"x"&</b>'
    make_connection_spec(dev, DATA_LAKE, hostile)
    flowspec_cache_store(
        sandbox_name="dev",
        document=flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=[DATA_LAKE, "<i>x</i>"]),
        origin="sync",
    )

    page = staff_client.get(URL).text

    assert f"<code>{DATA_LAKE}</code> &lt;b&gt;&quot;x&quot;&amp;&lt;/b&gt;</li>" in page
    assert "<code>&lt;i&gt;x&lt;/i&gt;</code>" in page


def test_a_large_document_is_put_into_the_answer_whole_and_measured_with_it(staff_client, dev, monkeypatch):
    from flowadmin import derived

    monkeypatch.setattr(derived, "SPLICED_OVER", 10)  # this small document is spliced in as a large one is
    response = staff_client.get(URL)
    page = response.content.decode()

    assert int(response["Content-Length"]) == len(response.content)
    assert "<!--fragment" not in page
    document = shown(page)["document"]
    assert document.startswith('<pre id="flowspec-document">{') and f'"{UNKNOWN_ID}"' in document


def test_large_fragments_are_put_into_the_answer_wherever_each_one_is_shown():
    from types import SimpleNamespace

    from django.http import HttpResponse

    from flowadmin import derived

    def view(request):
        first = derived.spliced_later(request, "<p>" + "a" * derived.SPLICED_OVER + "</p>")
        second = derived.spliced_later(request, "<p>" + "b" * derived.SPLICED_OVER + "</p>")
        unshown = derived.spliced_later(request, "<p>" + "c" * derived.SPLICED_OVER + "</p>")
        assert len({first, second, unshown}) == 3
        return HttpResponse(f"<main>{second}<hr>{first}</main>")  # shown in the other order than rendered

    answer = derived.SpliceMiddleware(view)(SimpleNamespace())

    text = answer.content.decode()
    assert "<!--fragment" not in text and "c" * 100 not in text
    assert text.index("b" * 100) < text.index("<hr>") < text.index("a" * 100)
    assert len(text) == len("<main><hr></main>") + 2 * len("<p></p>") + 2 * derived.SPLICED_OVER
