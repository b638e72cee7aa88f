"""What the rollout services raise: one sentence for people in ``.message``."""

from __future__ import annotations

from collections.abc import Sequence


class RolloutError(Exception):
    """A rollout action that cannot be done; the message is one of the app's constants."""

    def __init__(self, message: str, *, problems: Sequence[str] = (), rollout=None):
        super().__init__(message)
        self.message = message
        self.problems = list(problems)
        self.rollout = rollout

    def __str__(self) -> str:
        return self.message


class RolloutForbidden(RolloutError):
    """The actor may not do this (whatever the page showed them): answered with 403."""


class RolloutConflict(RolloutError):
    """The rollout's state does not allow it (any more)."""


class RolloutProposalError(RolloutError):
    """A proposal that cannot become a rollout as given (``problems``: one sentence per problem)."""
