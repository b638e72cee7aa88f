"""The errors every app's services raise, one sentence for people in ``.message``.

An app subclasses them once (`ChangeRequestError`, `RolloutError`, ...), so a view can answer any
app's refusals the same way (`flowadmin.action_pages`): ``Forbidden`` with the 403 page, ``Conflict``
and the rest with a message on the subject's page.
"""

from __future__ import annotations

from collections.abc import Sequence


class ServiceError(Exception):
    """An action that cannot be done; ``problems`` adds one sentence per problem when there are several."""

    def __init__(self, message: str, *, problems: Sequence[str] = ()):
        super().__init__(message)
        self.message = message
        self.problems = list(problems)

    def __str__(self) -> str:
        return self.message


class Forbidden(ServiceError):
    """The actor may not do this (whatever the page showed them): answered with 403."""


class Conflict(ServiceError):
    """The subject's state does not allow it (any more)."""
