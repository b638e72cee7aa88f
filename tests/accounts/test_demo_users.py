import pytest
from django.contrib.auth import get_user_model
from django.core.checks import ERROR, run_checks
from django.core.management import CommandError, call_command

from flowadmin.accounts.demo import DEMO_LOGIN_REFUSED, DEMO_USERS, PUBLIC_DEMO_PASSWORD, demo_users_create
from flowadmin.accounts.roles import STAFF_GROUP, user_roles
from tests.conftest import make_user


@pytest.mark.django_db
def test_demo_users_are_not_created_under_production_settings(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo")
    with pytest.raises(PermissionError):
        demo_users_create(password="x")
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_demo_users_are_not_created_without_the_emulator(settings):
    settings.FLOWADMIN_EMULATOR = False
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_demo_users_cover_every_role_and_a_second_run_resets_them(client, settings):
    settings.DEBUG = True  # the test runner turns DEBUG off; seed_demo runs under development settings
    demo_users_create(password="demo-pass-1")
    demo_users_create(password="demo-pass-2")
    users = get_user_model().objects.order_by("username")
    assert [(u.username, sorted(g.name for g in u.groups.all())) for u in users] == [
        ("approver", ["Approvers", "Demo users", "Freeze managers"]),
        ("approver2", ["Approvers", "Demo users"]),  # a production change needs two approvers
        ("auditor", ["Auditors", "Demo users"]),
        ("staff", ["Demo users", "Onboarding staff"]),
    ]
    roles = [sorted(user_roles(u)) for u in users]
    assert roles == [["Approvers", "Freeze managers"], ["Approvers"], ["Auditors"], ["Onboarding staff"]]  # a mark
    assert client.login(username="staff", password="demo-pass-2")


# --- under production settings (DEBUG off) -----------------------------------------------------
LOGIN = "/accounts/login/"


def login(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR="192.0.2.10")


@pytest.mark.django_db
def test_under_debug_false_seeded_demo_users_cannot_log_in_and_are_told_why(client, settings):
    settings.DEBUG = True
    demo_users_create(password="a-private-demo-password")
    assert login(client, "staff", "a-private-demo-password").status_code == 302
    client.logout()

    settings.DEBUG = False
    for username in DEMO_USERS:
        refused = login(client, username, "a-private-demo-password")
        assert refused.status_code == 200
        assert DEMO_LOGIN_REFUSED in refused.text
        assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_under_debug_false_a_demo_username_with_the_public_password_is_refused_however_it_was_made(
    client, settings, django_user_model
):
    """As seed_demo made them before they were marked: the username and the public password, no mark."""
    settings.DEBUG = False
    django_user_model.objects.create_user("approver", email="approver@example.com", password=PUBLIC_DEMO_PASSWORD)
    refused = login(client, "approver", PUBLIC_DEMO_PASSWORD)
    assert refused.status_code == 200 and DEMO_LOGIN_REFUSED in refused.text
    settings.DEBUG = True
    assert login(client, "approver", PUBLIC_DEMO_PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_demo_user_s_session_ends_when_the_server_runs_with_debug_off(client, settings):
    settings.DEBUG = True
    demo_users_create(password="demo-pass")
    client.force_login(get_user_model().objects.get(username="auditor"))
    assert client.get("/").status_code == 200
    settings.DEBUG = False
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.mark.django_db
def test_people_with_the_demo_usernames_but_their_own_passwords_still_log_in(client, settings):
    settings.DEBUG = False
    make_user(get_user_model(), "staff", STAFF_GROUP)  # password pw-staff, no demo mark
    assert login(client, "staff", "pw-staff").status_code == 302


@pytest.mark.django_db
def test_check_deploy_reports_the_demo_users_of_the_database(settings, django_user_model):
    def demo_errors():
        return [m for m in run_checks(include_deployment_checks=True) if m.id == "flowadmin.E004"]

    django_user_model.objects.create_user("someone", password="their-own")
    assert demo_errors() == []
    settings.DEBUG = True
    demo_users_create(password="whatever-was-chosen")
    settings.DEBUG = False
    [error] = demo_errors()
    assert "approver, approver2, auditor, staff" in error.msg
    assert error.level == ERROR
