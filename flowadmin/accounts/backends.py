"""The authentication backend that throttles logins (django-axes), see settings' AXES_* values."""

from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a login while its username and address are locked out; authenticates nobody itself.

    A login without a request (code calling `authenticate()` directly, the test client's `login()`)
    comes from no address to throttle: it is left to the next backend instead of failing.
    """

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
