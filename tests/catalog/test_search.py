"""The flow spec list and the sandbox search find a flow spec by its name, a source's name or an id prefix."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.catalog.factories import make_connection_spec, make_flowspec, make_sandbox, numbered_id
from tests.catalog.fakes import HTTP_API, S3, STREAMING_ID

REST_ID = "6499120c-0b15-42dc-936e-847ea3c24d72"
ZOHO = "04e0fcbb-1c55-4c8d-9f1e-3a7b1d2c4e5f"


def visible(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def dev(db):
    sandbox = make_sandbox("dev", title="Development")
    make_connection_spec(sandbox, HTTP_API, "HTTP API")
    make_connection_spec(sandbox, ZOHO, "Zoho CRM")
    make_flowspec(sandbox, STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API])
    make_flowspec(sandbox, REST_ID, "RestStorageToAEP", sources=[S3, ZOHO])
    make_sandbox("prod", title="Production")
    return sandbox


def found(client, query: str) -> list[str]:
    page = client.get(reverse("catalog:flowspecs", args=["dev"]), {"q": query})
    assert page.status_code == 200
    return sorted(name for name in ("GenericStreamingAEP", "RestStorageToAEP") if name in visible(page))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("generic", ["GenericStreamingAEP"]),  # its own name
        ("zoho", ["RestStorageToAEP"]),  # the name of a source it carries
        ("HTTP api", ["GenericStreamingAEP"]),
        (ZOHO[:8], ["RestStorageToAEP"]),  # a source id's first 8 characters
        (ZOHO[:13].upper(), ["RestStorageToAEP"]),
        (ZOHO, ["RestStorageToAEP"]),  # the whole source id
        (STREAMING_ID[:8], ["GenericStreamingAEP"]),  # its own id's start
        (ZOHO[:7], []),  # too short to be a source id's prefix, and no name holds it
        ("salesforce", []),
    ],
)
def test_the_flow_spec_list_finds_what_people_type(staff_client, dev, query, expected):
    assert found(staff_client, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zoho", ["Development"]),
        (ZOHO[:8], ["Development"]),
        ("generic", ["Development"]),
        ("prod", ["Production"]),
        ("nothing-like-it", []),
    ],
)
def test_the_sandbox_search_finds_sandboxes_by_the_flow_specs_they_hold(staff_client, dev, query, expected):
    text = visible(staff_client.get(reverse("catalog:sandboxes"), {"q": query}))

    assert sorted(name for name in ("Development", "Production") if name in text) == expected


def test_a_sandbox_found_by_its_flow_specs_links_to_those_it_matches(staff_client, dev):
    response = staff_client.get(reverse("catalog:sandboxes"), {"q": "zoho"})

    assert "1 matching" in visible(response)
    assert f'href="{reverse("catalog:flowspecs", args=["dev"])}?q=zoho"' in response.text


def test_searching_by_a_source_name_costs_the_same_queries_for_many_specs(
    client, staff_user, dev, django_assert_num_queries
):
    client.force_login(staff_user)
    url = reverse("catalog:flowspecs", args=["dev"])
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"q": "zoho"})
    for number in range(30):
        make_flowspec(dev, numbered_id(number), f"Spec {number}", sources=[ZOHO])

    with django_assert_num_queries(len(few)):
        assert "Spec 29" in visible(client.get(url, {"q": "zoho"}))


def test_the_sandbox_search_costs_the_same_queries_for_many_sandboxes(
    client, staff_user, dev, django_assert_num_queries
):
    client.force_login(staff_user)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("catalog:sandboxes"), {"q": "zoho"})
    for number in range(10):
        sandbox = make_sandbox(f"sb{number}")
        make_connection_spec(sandbox, ZOHO, "Zoho CRM")
        make_flowspec(sandbox, numbered_id(number), f"Spec {number}", sources=[ZOHO])

    with django_assert_num_queries(len(few)):
        assert "Sb9" in visible(client.get(reverse("catalog:sandboxes"), {"q": "zoho"}))
