import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from flowadmin.catalog.models import FlowSpec, Sandbox, SyncRun, SyncRunSandbox
from flowadmin.catalog.services import flowspec_cache_store, sandbox_claim
from tests.catalog.factories import make_connection_spec, make_flowspec, make_sandbox, numbered_id
from tests.catalog.fakes import DATA_LAKE, HTTP_API, S3, STREAMING_ID, UNKNOWN_ID, flow_spec

HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def dev(db):
    sandbox = make_sandbox("dev", last_synced_at=timezone.now())
    make_connection_spec(sandbox, HTTP_API, "HTTP API")
    make_connection_spec(sandbox, DATA_LAKE, "Data Lake")
    make_flowspec(sandbox, STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API, UNKNOWN_ID])
    make_flowspec(sandbox, "6499120c-0b15-42dc-936e-847ea3c24d72", "RestStorageToAEP", sources=[S3])
    return sandbox


# --- /sandboxes/ --------------------------------------------------------------------------------
def test_the_sandboxes_page_shows_type_spec_count_sync_age_and_last_error(client, staff_user, dev):
    make_sandbox("prod", type="production", last_sync_error="Internal server error (HTTP 500, request id r-1)")
    client.force_login(staff_user)

    page = text(client.get(reverse("catalog:sandboxes")))

    assert re.search(r'<span class="badge badge-warn">production</span>', page)
    assert re.search(r'<td data-label="Flow specs" class="num">2</td>', page)
    assert re.search(r'<time datetime="[^"]+" title="[^"]+">', page)
    assert "Internal server error (HTTP 500, request id r-1)" in page
    assert f'action="{reverse("catalog:sandbox_sync", args=["prod"])}"' in page
    assert f'action="{reverse("catalog:sync")}"' in page


@pytest.mark.django_db
def test_the_sandboxes_page_points_at_sync_now_while_nothing_is_cached(staff_client):
    page = text(staff_client.get(reverse("catalog:sandboxes")))

    assert "Nothing is cached yet" in page
    assert "Sync now" in page


def test_the_sandboxes_page_costs_the_same_queries_for_many_sandboxes(
    client, staff_user, dev, django_assert_num_queries
):
    client.force_login(staff_user)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("catalog:sandboxes"))
    for number in range(12):
        sandbox = make_sandbox(f"sb{number}")
        make_flowspec(sandbox, numbered_id(number), f"Spec {number}")

    with django_assert_num_queries(len(few)):
        assert client.get(reverse("catalog:sandboxes")).status_code == 200


def test_the_sandboxes_page_searches_names_and_titles(staff_client, dev):
    make_sandbox("prod-emea", title="Production EMEA", type="production")
    make_sandbox("stage", title="Staging for EMEA")

    by_title = text(staff_client.get(reverse("catalog:sandboxes"), {"q": "emea"}))
    by_name = text(staff_client.get(reverse("catalog:sandboxes"), {"q": "STAGE"}))
    nothing = text(staff_client.get(reverse("catalog:sandboxes"), {"q": "qa"}))

    assert "2 sandboxes matching “emea”" in by_title and "Production EMEA" in by_title
    assert reverse("catalog:flowspecs", args=["dev"]) not in by_title
    assert "1 sandbox matching “STAGE”" in by_name
    assert "No sandbox matches “qa”" in nothing
    assert 'value="qa"' in nothing, "the search box keeps what was typed"


def test_many_sandboxes_come_twenty_five_a_page(staff_client, dev):
    for number in range(30):
        make_sandbox(f"sb{number:02d}")

    first = text(staff_client.get(reverse("catalog:sandboxes")))
    second = text(staff_client.get(reverse("catalog:sandboxes"), {"page": "2"}))

    assert "31 sandboxes." in first and "Page 1 of 2" in first
    assert first.count("Sync now: sb") == 24 and "Sync now: dev" in first
    assert 'href="?page=2"' in first
    assert second.count("Sync now: sb") == 6 and "Sync now: sb29" in second


def test_searching_with_htmx_answers_only_the_table(staff_client, dev):
    make_sandbox("prod", title="Production")

    page = text(staff_client.get(reverse("catalog:sandboxes"), {"q": "prod"}, HTTP_HX_TARGET="sandbox-table", **HTMX))

    assert page.strip().startswith('<section id="sandbox-table"') and "<html" not in page
    assert "Production" in page and "Sync now: dev" not in page


# --- "Sync now" ---------------------------------------------------------------------------------
def test_sync_now_without_javascript_redirects_to_the_run_page(staff_client, fake_client):
    response = staff_client.post(reverse("catalog:sync"))

    run = SyncRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:sync_run", args=[run.pk])
    page = text(staff_client.get(response["Location"]))
    assert "2 sandboxes synced" in page
    assert 'hx-trigger="every 1s"' not in page


def test_sync_now_with_htmx_answers_the_progress_fragment_and_the_refreshed_table(staff_client, fake_client):
    response = staff_client.post(reverse("catalog:sync"), **HTMX)

    page = text(response)
    assert "<html" not in page
    assert 'id="sync-progress"' in page
    assert re.search(r'<section id="sandbox-table"[^>]* hx-swap-oob="true"', page), (
        "the finished run refreshes the table"
    )
    assert 'hx-trigger="every 1s"' not in page, "a finished run is no longer polled"
    assert FlowSpec.objects.filter(sandbox__name="prod").count() == 2


def test_a_first_sync_brings_the_search_box_with_the_table(staff_client, fake_client):
    before = text(staff_client.get(reverse("catalog:sandboxes")))
    assert re.search(r'<form class="filters" id="sandbox-search"[^>]* hidden', before), (
        "there from the start (the progress names it), hidden while nothing is cached"
    )

    after = text(staff_client.post(reverse("catalog:sync"), **HTMX))

    form = re.search(r'<form class="filters" id="sandbox-search"[^>]*>', after).group(0)
    assert 'hx-swap-oob="true"' in form and "hidden" not in form


def test_a_running_sync_is_polled_every_second_and_shows_its_progress(staff_client, dev):
    run = SyncRun.objects.create(token="t", started_at=timezone.now())
    SyncRunSandbox.objects.create(run=run, sandbox_name="dev", state="succeeded", new=2)
    SyncRunSandbox.objects.create(run=run, sandbox_name="prod", state="running")
    url = reverse("catalog:sync_run", args=[run.pk])

    page = text(staff_client.get(url, **HTMX))

    assert f'hx-get="{url}" hx-trigger="every 1s"' in page
    assert '<progress max="2" value="1"' in page
    assert ">2 new<" in page, "the counts that are not zero, short enough for a phone's line"
    assert "hx-swap-oob" not in page
    assert 'hx-trigger="every 1s"' in text(staff_client.get(reverse("catalog:sandboxes"))), "shown on the page too"


def test_a_second_sync_now_for_a_sandbox_being_synced_shows_the_running_sync(staff_client, dev, fake_client):
    first = SyncRun.objects.create(scope="dev", token="first")
    SyncRunSandbox.objects.create(run=first, sandbox_name="dev", state="running")
    sandbox_claim(sandbox_name="dev", token="first", run=first)

    page = text(staff_client.post(reverse("catalog:sandbox_sync", args=["dev"]), **HTMX))

    assert "was already running" in page
    poll = f"{reverse('catalog:sync_run', args=[first.pk])}?again=1"
    assert f'hx-get="{poll}"' in page
    assert SyncRun.objects.count() == 1
    assert fake_client.calls == []
    # The poll keeps saying so: the panel does not lose a line (and shift the table) a second later.
    assert "was already running" in text(staff_client.get(poll, **HTMX))
    assert "was already running" not in text(staff_client.get(reverse("catalog:sync_run", args=[first.pk]), **HTMX))


def test_sync_now_of_an_unknown_sandbox_is_a_404_and_starts_nothing(staff_client, fake_client):
    response = staff_client.post(reverse("catalog:sandbox_sync", args=["nope"]))

    assert response.status_code == 404
    assert not SyncRun.objects.exists()


@pytest.mark.django_db
def test_sync_now_only_accepts_post(staff_client):
    assert staff_client.get(reverse("catalog:sync")).status_code == 405


# --- /sandboxes/<sandbox>/flowspecs/ ------------------------------------------------------------
def test_the_flowspec_list_shows_each_cached_spec_with_a_copyable_id(staff_client, dev):
    page = text(staff_client.get(reverse("catalog:flowspecs", args=["dev"])))

    assert "GenericStreamingAEP" in page and "RestStorageToAEP" in page
    assert f'data-copy="{STREAMING_ID}"' in page
    assert reverse("catalog:flowspec", args=["dev", STREAMING_ID]) in page
    assert 'hx-trigger="keyup changed delay:300ms, search, input changed delay:300ms"' in page
    assert 'hx-push-url="true"' in page


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("streaming", ["GenericStreamingAEP"]),
        (STREAMING_ID[:8], ["GenericStreamingAEP"]),
        (S3, ["RestStorageToAEP"]),
        (f"  {HTTP_API.upper()} ", ["GenericStreamingAEP"]),
        (DATA_LAKE, ["GenericStreamingAEP", "RestStorageToAEP"]),
        ("nothing-like-it", []),
    ],
)
def test_search_finds_specs_by_name_id_or_a_contained_connection_spec_id(staff_client, dev, query, found):
    page = text(staff_client.get(reverse("catalog:flowspecs", args=["dev"]), {"q": query}, **HTMX))

    assert "<html" not in page, "htmx gets the results fragment only"
    names = re.findall(r'flowspecs/[^/]+/">([^<]+)</a>', page)
    assert names == found


def test_columns_sort_both_ways_and_unknown_sort_keys_fall_back_to_name(staff_client, dev):
    url = reverse("catalog:flowspecs", args=["dev"])

    def names(sort):
        return re.findall(r'flowspecs/[^/]+/">([^<]+)</a>', text(staff_client.get(url, {"sort": sort})))

    assert names("name") == ["GenericStreamingAEP", "RestStorageToAEP"]
    assert names("-name") == ["RestStorageToAEP", "GenericStreamingAEP"]
    assert names("-sources") == ["GenericStreamingAEP", "RestStorageToAEP"]
    assert names("name; DROP TABLE") == ["GenericStreamingAEP", "RestStorageToAEP"]
    assert 'aria-sort="descending"' in text(staff_client.get(url, {"sort": "-name"}))


def test_vanished_specs_are_listed_last_and_marked(staff_client, dev):
    FlowSpec.objects.filter(name="GenericStreamingAEP").update(vanished_at=timezone.now())

    page = text(staff_client.get(reverse("catalog:flowspecs", args=["dev"])))

    assert page.index("RestStorageToAEP") < page.index("GenericStreamingAEP")
    assert '<span class="badge badge-bad"' in page and ">vanished</span>" in page


def test_the_list_says_how_stale_the_cache_is(staff_client, dev):
    Sandbox.objects.filter(name="dev").update(last_synced_at=timezone.now() - timezone.timedelta(days=2))

    page = text(staff_client.get(reverse("catalog:flowspecs", args=["dev"])))

    assert "2\xa0days ago" in page
    assert ">stale</span>" in page


def test_the_flowspec_list_costs_the_same_queries_for_many_specs(client, staff_user, dev, django_assert_num_queries):
    client.force_login(staff_user)
    url = reverse("catalog:flowspecs", args=["dev"])
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"q": "s"})
    for number in range(40):
        make_flowspec(dev, numbered_id(number), f"Spec {number}", sources=[HTTP_API, S3])

    with django_assert_num_queries(len(few)):
        page = text(client.get(url, {"q": "s"}))
    assert "Spec 39" in page


# --- /sandboxes/<sandbox>/flowspecs/<spec_id>/ ---------------------------------------------------
def test_the_spec_page_names_known_connection_specs_and_flags_unknown_ids(staff_client, dev):
    page = text(staff_client.get(reverse("catalog:flowspec", args=["dev", STREAMING_ID])))

    assert f"<code>{HTTP_API}</code> HTTP API</li>" in page
    assert f"<code>{DATA_LAKE}</code> Data Lake</li>" in page
    unknown = page[page.index(UNKNOWN_ID) :]
    assert unknown.index('<span class="badge badge-warn">unknown</span>') < unknown.index("</li>")
    assert "not a connection spec of this sandbox" in unknown


def test_the_spec_page_shows_the_full_document_collapsed(staff_client, dev):
    page = text(staff_client.get(reverse("catalog:flowspec", args=["dev", STREAMING_ID])))

    details = page[page.index("<details>") : page.index("</details>")]
    assert '"createdBy": "someone@AdobeID"' in details


def test_the_spec_page_diffs_the_latest_two_versions_by_default(staff_client, dev):
    flowspec_cache_store(
        sandbox_name="dev", document=flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API]), origin="sync"
    )

    page = text(staff_client.get(reverse("catalog:flowspec", args=["dev", STREAMING_ID])))

    assert f'<span class="line del">    "{UNKNOWN_ID}"</span>' in page
    assert 'class="line hunk"' in page


def test_the_spec_page_diffs_any_two_versions_asked_for(staff_client, dev):
    spec = FlowSpec.objects.get(spec_id=STREAMING_ID)
    for sources in ([HTTP_API], [HTTP_API, S3]):
        flowspec_cache_store(
            sandbox_name="dev", document=flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=sources), origin="sync"
        )
    oldest, newest = spec.versions.order_by("seen_at", "id").first(), spec.versions.order_by("seen_at", "id").last()
    url = reverse("catalog:flowspec", args=["dev", STREAMING_ID])

    page = text(staff_client.get(url, {"from": oldest.pk, "to": newest.pk}, **HTMX))

    assert "<html" not in page
    assert f'<span class="line del">    "{UNKNOWN_ID}"</span>' in page
    assert f'<span class="line add">    "{S3}"</span>' in page


def test_the_spec_page_shows_the_panels_other_apps_registered_in_their_order(staff_client, dev):
    from flowadmin import panels

    response = staff_client.get(reverse("catalog:flowspec", args=["dev", STREAMING_ID]))

    used = [template.name for template in response.templates]
    assert [panel.name for panel in panels.registered("flowspec")] == ["change_requests", "rollouts"]
    assert "changes/_flowspec_panel.html" in used and "rollouts/_flowspec_panel.html" in used
    page = response.content.decode()
    assert page.index('id="flowspec-change-requests"') < page.index("Roll out")


# --- not found, escaping ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/sandboxes/nope/flowspecs/", "No sandbox named “nope”"),
        (f"/sandboxes/dev/flowspecs/{UNKNOWN_ID}/", f"No flow spec with id “{UNKNOWN_ID}”"),
        ("/sandboxes/sync/999/", "No sync run 999"),
        ("/sandboxes/nope/", "No sandbox named “nope”"),
        ("/no/such/page/", "There is no page at"),
    ],
)
def test_unknown_things_answer_a_helpful_404_page(staff_client, dev, path, says):
    response = staff_client.get(path)

    assert response.status_code == 404
    page = text(response)
    assert says in page
    assert f'href="{reverse("catalog:sandboxes")}"' in page
    assert "Log out" in page, "the 404 page has the site's layout"


def test_remote_content_is_escaped_on_every_page(staff_client, dev):
    hostile = '<script>alert("x")</script>'
    make_flowspec(dev, numbered_id(1), hostile, sources=[hostile], version=hostile)
    Sandbox.objects.filter(name="dev").update(title=hostile, last_sync_error=hostile)

    pages = [
        staff_client.get(reverse("catalog:sandboxes")),
        staff_client.get(reverse("catalog:flowspecs", args=["dev"])),
        staff_client.get(reverse("catalog:flowspecs", args=["dev"]), {"q": hostile}),
        staff_client.get(reverse("catalog:flowspec", args=["dev", numbered_id(1)])),
    ]

    for response in pages:
        assert response.status_code == 200
        assert "<script>alert" not in text(response)
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text(response)


def test_anyone_signed_in_may_browse(client, viewer_user, dev):
    client.force_login(viewer_user)

    assert client.get(reverse("catalog:sandboxes")).status_code == 200
    assert client.get(reverse("catalog:flowspecs", args=["dev"])).status_code == 200
    assert client.get(reverse("catalog:flowspec", args=["dev", STREAMING_ID])).status_code == 200


def test_providers_are_named_on_the_list_and_the_spec_page_with_the_id_on_hover(staff_client, dev):
    listing = staff_client.get(reverse("catalog:flowspecs", args=["dev"])).content.decode()
    detail = staff_client.get(reverse("catalog:flowspec", args=["dev", STREAMING_ID])).content.decode()

    for page in (listing, detail):
        assert '<span title="521eee4d-8cbe-4906-bb48-fb6bd4450033">Adobe streaming sources</span>' in page
