"""Error codes of the users feature."""

from enum import StrEnum


class UserErrorCode(StrEnum):
    """Stable codes for user and token problems."""

    DUPLICATE_EMAIL = "users.duplicate_email"
    WEAK_PASSWORD = "users.weak_password"  # noqa: S105 - an error code, not a password
    BAD_CREDENTIALS = "users.bad_credentials"
    INACTIVE = "users.inactive"
    NOT_FOUND = "users.not_found"
    BAD_TOKEN = "users.bad_token"  # noqa: S105 - an error code, not a token
    UNKNOWN_DEPARTMENT = "users.unknown_department"
