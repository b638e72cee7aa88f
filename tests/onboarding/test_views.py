"""The "Onboard a source" page on a cached catalog: who may use it, where it is linked, what it costs."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowadmin.catalog.models import ConnectionSpec
from tests.catalog.factories import make_flowspec, make_sandbox, numbered_id

ONBOARD = reverse("onboarding:onboard")
SUBMIT = reverse("onboarding:submit")
STREAMING_ID = "e77fde5a-22a8-11ed-861d-0242ac120002"
PENDO = "835de825-ec64-43d1-8803-de122f2d3608"
NEW_SOURCE = "bdb5b792-451b-42de-acf8-15f3195821de"
STREAMING_PROVIDER = "521eee4d-8cbe-4906-bb48-fb6bd4450033"


def cache(sandbox, spec_id, name, **fields):
    fields.setdefault("provider_id", STREAMING_PROVIDER)
    fields.setdefault("frequency", "streaming")
    return ConnectionSpec.objects.create(sandbox=sandbox, spec_id=spec_id, name=name, **fields)


def catalog():
    dev = make_sandbox("dev")
    make_flowspec(dev, STREAMING_ID, "GenericStreamingAEP", sources=[PENDO])
    cache(dev, PENDO, "Pendo", category="Analytics")
    cache(dev, NEW_SOURCE, "Acme Events Stream", category="Analytics")
    return dev


def test_only_people_who_propose_changes_may_onboard(client, viewer_user, auditor_user, db):
    catalog()
    for user in (viewer_user, auditor_user):
        client.force_login(user)
        assert client.get(ONBOARD).status_code == 403
        assert client.post(SUBMIT, {"connection_spec_id": NEW_SOURCE}).status_code == 403


def test_the_home_page_and_the_sandbox_page_link_to_it(staff_client, db):
    catalog()
    assert ONBOARD in staff_client.get(reverse("home")).content.decode()
    sandbox_page = staff_client.get(reverse("catalog:flowspecs", args=["dev"])).content.decode()
    assert f'href="{ONBOARD}?sandbox=dev"' in sandbox_page


def test_a_cached_source_is_shown_without_asking_the_flow_service(staff_client, db):
    catalog()
    page = staff_client.get(ONBOARD, {"sandbox": "dev", "connection_spec_id": f"  {NEW_SOURCE.upper()} "})
    text = page.content.decode()
    assert "Acme Events Stream" in text and "Adobe streaming sources" in text
    assert "looked up in its Flow Service" not in text
    assert "already carries 1 Analytics source: Pendo" in text


def test_a_malformed_id_is_refused_and_kept(staff_client, db):
    catalog()
    text = staff_client.get(ONBOARD, {"sandbox": "dev", "connection_spec_id": "{abc}"}).content.decode()
    assert "is not a connection spec id" in text and 'value="{abc}"' in text


def test_the_page_costs_the_same_queries_for_many_flow_specs(staff_client, django_assert_num_queries, db):
    dev = catalog()
    stage = make_sandbox("stage")
    params = {"sandbox": "dev", "connection_spec_id": NEW_SOURCE}
    with CaptureQueriesContext(connection) as few:
        staff_client.get(ONBOARD, params)
    for number in range(30):
        for sandbox in (dev, stage):
            make_flowspec(sandbox, numbered_id(number), f"Spec {number}", sources=[numbered_id(100 + number)])
        cache(dev, numbered_id(100 + number), f"Source {number}", category="Analytics")

    with django_assert_num_queries(len(few)):
        text = staff_client.get(ONBOARD, params).content.decode()
    assert "Spec 29" in text
