"""Every page needs a login, except the login and single sign-on pages, the health check, /metrics (its own
guard) and the emulator."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# The SSO pages must be reachable signed out: they are how one signs in. /metrics has its own guard.
PUBLIC_PREFIXES = ("/accounts/login/", "/accounts/sso/", "/healthz", "/metrics", "/emulator/", "/static/")
SAMPLE_KWARGS = {
    "sandbox": "dev",
    "spec_id": "e77fde5a-22a8-11ed-861d-0242ac120002",
    "pk": 1,
    "id": 1,
    "seq": 1,
    "change_id": 1,
    "rollout_id": 1,
}


def _sample(converter):
    return {"IntConverter": 1, "UUIDConverter": SAMPLE_KWARGS["spec_id"]}.get(type(converter).__name__, "sample")


def _named_patterns(resolver: URLResolver, namespace: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_patterns(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield namespace + pattern.name, pattern.pattern.converters


def _project_paths():
    paths = set()
    for name, params in _named_patterns(get_resolver()):
        if name.startswith(("admin:", "emulator:")):
            continue
        kwargs = {param: SAMPLE_KWARGS.get(param, _sample(converter)) for param, converter in params.items()}
        path = reverse(name, kwargs=kwargs)
        if not path.startswith(PUBLIC_PREFIXES):
            paths.add(path)
    return sorted(paths)


def test_the_project_has_pages_behind_the_login():
    assert "/" in _project_paths()


@pytest.mark.django_db
@pytest.mark.parametrize("path", _project_paths())
def test_anonymous_visitors_are_sent_to_the_login_page(client, path):
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("login") + "?next="), path


@pytest.mark.django_db
def test_the_admin_also_needs_a_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.django_db
def test_login_page_is_public_and_logs_a_user_in(client, staff_user):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "staff", "password": "pw-staff"})
    assert response.status_code == 302
    page = client.get(reverse("home"))
    assert page.status_code == 200
    assert b"staff" in page.content
    assert b"Onboarding staff" in page.content


@pytest.mark.django_db
def test_a_wrong_password_keeps_the_username_and_says_why(client, staff_user):
    response = client.post(reverse("login"), {"username": "staff", "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content
    assert b'value="staff"' in response.content


@pytest.mark.django_db
def test_logout_is_a_post_and_ends_the_session(staff_client):
    response = staff_client.post(reverse("logout"))
    assert response.status_code == 302
    assert staff_client.get(reverse("home")).status_code == 302
