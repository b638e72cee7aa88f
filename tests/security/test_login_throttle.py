"""Repeated failed logins lock out one username from one address for a while, with a clear message."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

LOGIN = "/accounts/login/"
LOCKED_OUT = "Too many failed logins for this username from your address"
MISMATCH = "Your username and password didn't match"


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


# --- behind a reverse proxy --------------------------------------------------------------------
PROXY = "10.0.0.2"


def via_proxy(client, username, password, forwarded_for):
    """A login as the proxy passes it on: from the proxy's address, the client in X-Forwarded-For."""
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for
    )


def locked_addresses() -> set[str]:
    return set(AccessAttempt.objects.values_list("ip_address", flat=True))


@pytest.fixture
def behind_proxy(settings):
    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXIES = []
    return settings


def test_behind_a_proxy_a_lockout_binds_the_real_client_not_the_proxy(client, staff_user, behind_proxy):
    assert [via_proxy(client, "staff", "wrong", "192.0.2.10").status_code for _ in range(5)][-1] == 429

    elsewhere = via_proxy(client, "staff", "pw-staff", "198.51.100.7")
    assert elsewhere.status_code == 302, "the same user from another real address is not locked out"
    client.logout()
    assert via_proxy(client, "staff", "pw-staff", "192.0.2.10").status_code == 429
    assert locked_addresses() == {"192.0.2.10"}


def test_behind_a_proxy_what_the_client_sends_in_the_header_does_not_pick_its_address(client, staff_user, behind_proxy):
    # The client sends its own X-Forwarded-For; the proxy appends the address it really came from.
    forged = [f"203.0.113.{n}, 192.0.2.10" for n in range(5)]
    statuses = [via_proxy(client, "staff", "wrong", header).status_code for header in forged]
    assert statuses == [200, 200, 200, 200, 429]
    assert via_proxy(client, "staff", "pw-staff", "198.51.100.99, 192.0.2.10").status_code == 429
    assert locked_addresses() == {"192.0.2.10"}


def test_two_proxies_in_front_take_the_entry_before_the_first_proxy(client, staff_user, behind_proxy):
    behind_proxy.TRUSTED_PROXY_COUNT = 2  # a load balancer (10.9.9.9), then the proxy
    fail_from = "203.0.113.77, 192.0.2.10, 10.9.9.9"
    assert [via_proxy(client, "staff", "wrong", fail_from).status_code for _ in range(5)][-1] == 429
    assert via_proxy(client, "staff", "pw-staff", "198.51.100.7, 10.9.9.9").status_code == 302
    assert locked_addresses() == {"192.0.2.10"}


def test_without_a_proxy_the_forwarded_header_is_ignored(client, staff_user, settings):
    settings.BEHIND_PROXY = False
    statuses = [
        client.post(
            LOGIN,
            {"username": "staff", "password": "wrong"},
            REMOTE_ADDR="192.0.2.10",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]
    other_header = client.post(
        LOGIN,
        {"username": "staff", "password": "pw-staff"},
        REMOTE_ADDR="192.0.2.10",
        HTTP_X_FORWARDED_FOR="198.51.100.200",
    )
    assert other_header.status_code == 429
    assert locked_addresses() == {"192.0.2.10"}


def test_a_request_that_does_not_come_from_the_trusted_proxies_is_taken_as_direct(client, staff_user, behind_proxy):
    behind_proxy.TRUSTED_PROXIES = ["10.0.0.0/24"]
    around = {"REMOTE_ADDR": "192.0.2.66"}  # reached the server without the proxy, says it is someone else
    for n in range(5):
        client.post(LOGIN, {"username": "staff", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}", **around)
    assert locked_addresses() == {"192.0.2.66"}
    assert via_proxy(client, "staff", "pw-staff", "198.51.100.1").status_code == 302
