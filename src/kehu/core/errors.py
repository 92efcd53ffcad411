"""Errors that every layer understands; delivery layers map them to 4xx answers."""

from typing import Any


class KehuError(Exception):
    """Base of every error kehu raises on purpose.

    Parameters
    ----------
    message
        A sentence a person can act on.
    code
        A stable machine-readable code (``<feature>.<reason>``).
    details
        Extra structured context (field names, offending values).
    """

    status_code = 400

    def __init__(self, message: str, *, code: str = "invalid", details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details


class InvalidInputError(KehuError):
    """The caller sent something that cannot be used as it is."""

    status_code = 422


class NotFoundError(KehuError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    status_code = 404


class ConflictError(KehuError):
    """The request conflicts with the current state (duplicate key, already merged...)."""

    status_code = 409


class PermissionDeniedError(KehuError):
    """The caller is known but not allowed to do this."""

    status_code = 403
