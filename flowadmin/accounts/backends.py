"""Authentication backends: the login throttle (django-axes, settings' AXES_* values) and the accounts
backend, which refuses demo users under production settings (flowadmin.accounts.demo)."""

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from flowadmin.accounts.demo import DEMO_LOGIN_REFUSED, demo_login_refused, demo_user_refused

REFUSAL_ATTRIBUTE = "login_refusal"  # set on the request: the login form shows it instead of "didn't match"


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a login while its username and address are locked out; authenticates nobody itself.

    A login without a request (code calling `authenticate()` directly, the test client's `login()`)
    comes from no address to throttle: it is left to the next backend instead of failing.
    """

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class AccountBackend(ModelBackend):
    """Django's username and password backend, except that under DEBUG=false demo users are refused:
    their logins (with a clear message on the login page) and any session they still hold."""

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

    @staticmethod
    def _refuse(request) -> None:
        """Stop authentication here (Django records a failed login, which the throttle counts)."""
        if request is not None:
            setattr(request, REFUSAL_ATTRIBUTE, DEMO_LOGIN_REFUSED)
        raise PermissionDenied(DEMO_LOGIN_REFUSED)
