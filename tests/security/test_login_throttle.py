"""Repeated failed logins lock out one username from one address for a while, with a clear message."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

LOGIN = "/accounts/login/"
LOCKED_OUT = "Too many failed logins for this username from your address"
MISMATCH = "Your username and password didn't match"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def attempt(client, username, password, address="192.0.2.10"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, address="192.0.2.10"):
    return [attempt(client, username, "wrong", address).status_code for _ in range(times)]


def test_five_failed_logins_lock_the_username_out_from_that_address(client, staff_user, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert fail(client, "staff", 4) == [200] * 4
    fifth = attempt(client, "staff", "wrong")
    assert fifth.status_code == 429
    assert LOCKED_OUT in fifth.text
    assert "blocked for 15 minutes" in fifth.text
    assert 'value="staff"' in fifth.text  # the form keeps the username

    # Even the right password is refused now, and nobody is signed in.
    right = attempt(client, "staff", "pw-staff")
    assert right.status_code == 429
    assert LOCKED_OUT in right.text
    assert "_auth_user_id" not in client.session


def test_a_lockout_binds_only_that_username_and_that_address(client, staff_user, approver_user):
    fail(client, "staff", 5)
    other_address = attempt(client, "staff", "pw-staff", address="198.51.100.7")
    assert other_address.status_code == 302
    client.logout()
    other_user = attempt(client, "approver", "pw-approver")
    assert other_user.status_code == 302


def test_a_successful_login_resets_the_count_of_failures(client, staff_user):
    fail(client, "staff", 4)
    assert attempt(client, "staff", "pw-staff").status_code == 302
    client.logout()
    again = [attempt(client, "staff", "wrong") for _ in range(4)]
    assert [response.status_code for response in again] == [200] * 4  # counted from zero again
    assert MISMATCH in again[-1].text
    assert attempt(client, "staff", "wrong").status_code == 429  # the fifth of the new count


def test_the_lockout_ends_after_the_cool_off(client, staff_user):
    fail(client, "staff", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert attempt(client, "staff", "pw-staff").status_code == 302


def test_programmatic_logins_without_a_request_are_not_throttled(client, staff_user):
    """The test client's login() (and code calling authenticate() itself) has no address to throttle."""
    fail(client, "staff", 5)
    assert client.login(username="staff", password="pw-staff")
