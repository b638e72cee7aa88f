"""The password authentication backends: login throttling (django-axes) and the accounts backend, which
follows LOCAL_LOGIN's rules and refuses demo users under production settings (flowadmin.accounts.demo).

Single sign-on has its own backend, ``flowadmin.accounts.sso.backend.SingleSignOnBackend``.
"""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from flowadmin.accounts.demo import DEMO_LOGIN_REFUSED, demo_login_refused, demo_user_refused

REFUSAL_ATTRIBUTE = "login_refusal"  # set on the request: the login form shows it instead of "didn't match"


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
    """Django's username and password login, as far as LOCAL_LOGIN allows it, and never a demo user under
    DEBUG=false.

    LOCAL_LOGIN ``off``: nobody; ``superusers``: only superusers (break-glass administrators made with
    ``createsuperuser``). Sessions made by a password login end at their next request once the
    setting no longer allows them. Demo users are refused under DEBUG=false: their logins (with a clear
    message on the login page) and any session they still hold. Permissions are answered as by
    ModelBackend, for every user.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if demo_login_refused(username=username, password=password):
            self._refuse(request)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and demo_user_refused(user):
            self._refuse(request)
        return user

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return None if user is not None and demo_user_refused(user) else user

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and local_login_allows(user)

    @staticmethod
    def _refuse(request) -> None:
        """Stop authentication here (Django records a failed login, which the throttle counts)."""
        if request is not None:
            setattr(request, REFUSAL_ATTRIBUTE, DEMO_LOGIN_REFUSED)
        raise PermissionDenied(DEMO_LOGIN_REFUSED)
