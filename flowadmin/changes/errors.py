"""What the change-request services raise: one sentence for people in ``.message``."""

from __future__ import annotations

from collections.abc import Sequence


class ChangeRequestError(Exception):
    """A change-request action that cannot be done; the message is one of the app's constants."""

    def __init__(self, message: str, *, problems: Sequence[str] = (), change_request=None):
        super().__init__(message)
        self.message = message
        self.problems = list(problems)
        self.change_request = change_request  # e.g. the open request that blocks a proposal

    def __str__(self) -> str:
        return self.message


class ChangeRequestForbidden(ChangeRequestError):
    """The actor may not do this (whatever the page showed them): answered with 403."""


class ChangeRequestConflict(ChangeRequestError):
    """The request's state does not allow it (any more): decided already, being applied, frozen, ..."""


class ProposalError(ChangeRequestError):
    """A proposal that cannot become a change request as given."""
