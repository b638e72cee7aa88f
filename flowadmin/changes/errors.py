"""What the change-request services raise (the shared bases: `flowadmin.service_errors`)."""

from __future__ import annotations

from collections.abc import Sequence

from flowadmin.service_errors import Conflict, Forbidden, ServiceError


class ChangeRequestError(ServiceError):
    """A change-request action that cannot be done; the message is one of the app's constants."""

    def __init__(self, message: str, *, problems: Sequence[str] = (), change_request=None):
        super().__init__(message, problems=problems)
        self.change_request = change_request  # e.g. the open request that blocks a proposal


class ChangeRequestForbidden(ChangeRequestError, Forbidden):
    """The actor may not do this (whatever the page showed them): answered with 403."""


class ChangeRequestConflict(ChangeRequestError, Conflict):
    """The request's state does not allow it (any more): decided already, being applied, frozen, ..."""


class ProposalError(ChangeRequestError):
    """A proposal that cannot become a change request as given."""
