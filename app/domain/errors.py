"""The one family of refusals the domain raises: a message for the person, the field, the HTTP status, what to keep.

A web or API caller settles the request by the error alone: it commits the request's changes when
``keep_changes`` is set (a wrong passphrase or code counts toward its lock even though the request
fails) and rolls them back otherwise, then shows ``message`` next to ``field`` with ``status``.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the request; ``str(error)`` says, in the person's language, what to do."""

    status: int = 422
    field: str | None = None
    keep_changes: bool = False

    def __init__(self, message: str | None = None, field: str | None = None, status: int | None = None,
                 keep_changes: bool | None = None):
        super().__init__(*(() if message is None else (message,)))
        if field is not None:
            self.field = field
        if status is not None:
            self.status = status
        if keep_changes is not None:
            self.keep_changes = keep_changes

    @property
    def message(self) -> str:
        """Return the sentence to show the person."""
        return str(self)


class InputError(DomainError):
    """Input that cannot be accepted; ``field`` names the form field to fix."""


class Conflict(DomainError):
    """The request is valid but the current state refuses it (status 409)."""

    status = 409


class Unavailable(DomainError):
    """A service Paraf relies on (registry, HSM, mail) did not answer; nothing was changed (status 503)."""

    status = 503
