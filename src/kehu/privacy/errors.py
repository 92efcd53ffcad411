"""Error codes of the privacy feature."""

from enum import StrEnum


class PrivacyErrorCode(StrEnum):
    """Stable codes of privacy problems."""

    ERASED = "privacy.erased"
    MERGED = "privacy.merged"
    OPTED_OUT = "privacy.opted_out"
    NO_CONSENT = "privacy.no_consent"
    NOT_BLOCKED = "privacy.not_blocked"
