"""The password authentication backends: login throttling (django-axes) and LOCAL_LOGIN's rules.

Single sign-on has its own backend, ``flowadmin.accounts.sso.backend.SingleSignOnBackend``.
"""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a login while its username and address are locked out; authenticates nobody itself.

    A login without a request (code calling `authenticate()` directly, the test client's `login()`)
    comes from no address to throttle: it is left to the next backend instead of failing. Nor does
    it throttle single sign-on, which sends no username: the identity provider checks the passwords.
    """

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None or username is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def local_login_allows(user) -> bool:
    """Whether LOCAL_LOGIN lets this user sign in (and stay signed in) with a password."""
    mode = settings.LOCAL_LOGIN
    return mode == "on" or (mode == "superusers" and user.is_superuser)


class LocalPasswordBackend(ModelBackend):
    """Django's username and password login, as far as LOCAL_LOGIN allows it.

    ``off``: nobody; ``superusers``: only superusers (break-glass administrators made with
    ``createsuperuser``). Sessions made by a password login end at their next request once the
    setting no longer allows them. Permissions are answered as by ModelBackend, for every user.
    """

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and local_login_allows(user)
