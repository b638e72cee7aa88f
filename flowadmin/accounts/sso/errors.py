"""Why a single sign-on was refused. Each message names the provider and says what to do next.

The messages are shown on the login page (``{provider}`` filled in); tests import them.
"""

from __future__ import annotations

UNVERIFIED = (
    "flowadmin could not verify the sign-in that {provider} sent (its ID token's signature or contents did not "
    "check out), so you were not signed in. Start again; if this keeps happening, tell your administrator."
)
EXPIRED = (
    "The sign-in that {provider} sent had already expired, so you were not signed in. Start again; if this keeps "
    "happening, the clocks of flowadmin and {provider} may disagree: tell your administrator."
)
STALE = (
    "This sign-in was already used, or was started in another browser or before you last logged in or out, "
    "so you were not signed in. Start again."
)
PROVIDER_SAID = "{provider} did not sign you in ({detail}). Start again, or ask your administrator."
UNREACHABLE = "flowadmin could not reach {provider} to sign you in. Try again in a minute."
MISCONFIGURED = (
    "Signing in with {provider} is not set up correctly on this server, so you were not signed in. "
    "Tell your administrator."
)
CODE_REFUSED = (
    "{provider} refused to complete the sign-in (its one-time code was not accepted), so you were not signed in. "
    "Start again."
)
NO_SUBJECT = "{provider} did not say who you are (no subject in its answer), so you were not signed in."
ACCOUNT_DISABLED = "Your flowadmin account is disabled, so you were not signed in. Ask an administrator."


class SignInRefused(Exception):
    """A single sign-on that must not sign anybody in; ``message`` is one of the constants above.

    ``log_detail`` says why for the server log (never a token or a secret); ``fields`` fill the
    message's other placeholders (``{detail}`` of PROVIDER_SAID).
    """

    def __init__(self, message: str, *, log_detail: str = "", **fields: str):
        super().__init__(message)
        self.message = message
        self.log_detail = log_detail
        self.fields = fields

    def text(self, provider: str) -> str:
        return self.message.format(provider=provider, **self.fields)


class NoRole(Exception):
    """A verified sign-in whose groups at the provider map to none of flowadmin's roles."""

    def __init__(self, *, username: str, groups: list[str]):
        super().__init__(f"{username} holds no mapped group")
        self.username = username
        self.groups = groups
