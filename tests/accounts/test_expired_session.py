"""An htmx request of an expired session: the login page as a whole page, and back to the page after it."""

from urllib.parse import quote

import pytest

PAGE = "/sandboxes/dev/flowspecs/e77fde5a-22a8-11ed-861d-0242ac120002/edit/"
FRAGMENT = "/sandboxes/dev/flowspecs/e77fde5a-22a8-11ed-861d-0242ac120002/preview/"


@pytest.mark.django_db
def test_a_signed_out_live_preview_sends_the_whole_page_to_the_login_and_back_to_the_page(client):
    response = client.post(
        FRAGMENT,
        {"source_connection_spec_ids": "x"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{PAGE}?edit=3",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/accounts/login/?next={quote(PAGE + '?edit=3', safe='/')}"
    assert b"<html" not in response.content, "no login page swapped into the preview"


@pytest.mark.django_db
def test_a_page_of_another_host_is_not_where_the_login_leads(client):
    response = client.get(FRAGMENT, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="https://evil.example/phish")
    assert response["HX-Redirect"] == "/accounts/login/?next=/"


@pytest.mark.django_db
def test_a_signed_out_plain_request_is_redirected_as_before(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={quote(PAGE, safe='/')}"


@pytest.mark.django_db
def test_an_htmx_request_with_a_stale_form_token_goes_to_the_login_when_signed_out_else_reloads(client, staff_user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    signed_out = browser.post(FRAGMENT, {}, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{PAGE}")
    assert signed_out["HX-Redirect"] == f"/accounts/login/?next={quote(PAGE, safe='/')}"
    browser.force_login(staff_user)
    signed_in = browser.post(FRAGMENT, {}, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{PAGE}")
    assert signed_in["HX-Refresh"] == "true"
    assert signed_out.status_code == signed_in.status_code == 403, "still a refusal, whatever htmx does next"
    plain = browser.post(FRAGMENT, {})
    assert plain.status_code == 403 and "This form has expired" in plain.text
