import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from flowadmin.accounts.demo import demo_users_create
from flowadmin.accounts.roles import user_roles


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
def test_demo_users_get_one_role_each_and_a_second_run_resets_them(client, settings):
    settings.DEBUG = True  # the test runner turns DEBUG off; seed_demo runs under development settings
    demo_users_create(password="demo-pass-1")
    demo_users_create(password="demo-pass-2")
    users = get_user_model().objects.order_by("username")
    assert [(u.username, sorted(g.name for g in u.groups.all())) for u in users] == [
        ("approver", ["Approvers", "Demo users"]),
        ("auditor", ["Auditors", "Demo users"]),
        ("staff", ["Demo users", "Onboarding staff"]),
    ]
    assert [user_roles(u) for u in users] == [["Approvers"], ["Auditors"], ["Onboarding staff"]]  # a mark, not a role
    assert client.login(username="staff", password="demo-pass-2")
