"""Errors a user can cause. The CLI prints them as one line and exits with status 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: the message says what to do, no traceback is shown."""


class UnknownNameError(UserError, KeyError):
    """A registry lookup for a name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataAccessError(PermissionError):
    """A method asked for data it did not declare in its ``needs`` (a bug in the method)."""


class RunStopped(UserError):
    """A run stopped on purpose after work began (``--fail-fast``), or whose every cell
    failed: the CLI prints its one line and exits with status 1, not the 2 of bad input."""

    exit_code = 1
