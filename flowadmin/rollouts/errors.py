"""What the rollout services raise (the shared bases: `flowadmin.service_errors`)."""

from __future__ import annotations

from collections.abc import Sequence

from flowadmin.service_errors import Conflict, Forbidden, ServiceError


class RolloutError(ServiceError):
    """A rollout action that cannot be done; the message is one of the app's constants."""

    def __init__(self, message: str, *, problems: Sequence[str] = (), rollout=None):
        super().__init__(message, problems=problems)
        self.rollout = rollout


class RolloutForbidden(RolloutError, Forbidden):
    """The actor may not do this (whatever the page showed them): answered with 403."""


class RolloutConflict(RolloutError, Conflict):
    """The rollout's state does not allow it (any more)."""


class RolloutProposalError(RolloutError):
    """A proposal that cannot become a rollout as given (``problems``: one sentence per problem)."""
