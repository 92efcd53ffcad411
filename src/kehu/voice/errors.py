"""Error codes of the voice-of-the-customer feature."""

from enum import StrEnum


class VoiceErrorCode(StrEnum):
    """Stable codes of voice errors."""

    POST_NOT_FOUND = "voice.post_not_found"
    BAD_POST = "voice.bad_post"
    ALERT_NOT_FOUND = "voice.alert_not_found"
    ALERT_CLOSED = "voice.alert_closed"
    CRISIS_NOT_FOUND = "voice.crisis_not_found"
    CRISIS_CLOSED = "voice.crisis_closed"
    BAD_CHECKLIST_ITEM = "voice.bad_checklist_item"
    BAD_SETTINGS = "voice.bad_settings"
    BAD_WEIGHTS = "voice.bad_weights"
    BAD_TERM = "voice.bad_term"
    TERM_EXISTS = "voice.term_exists"
    TERM_NOT_FOUND = "voice.term_not_found"
    POLL_NOT_FOUND = "voice.poll_not_found"
    POLL_CLOSED = "voice.poll_closed"
    BAD_POLL = "voice.bad_poll"
    BAD_OPTION = "voice.bad_option"
    UNKNOWN_USER = "voice.unknown_user"
