"""Error codes of the privacy feature."""

from enum import StrEnum


class PrivacyErrorCode(StrEnum):
    """Stable codes of privacy problems."""

    ERASED = "privacy.erased"
    MERGED = "privacy.merged"
