"""Login throttling (issue 9 §4): failed logins per account and per client address."""

from kehu.throttle.models import LoginFailure
from kehu.throttle.operations import (
    LoginLimits,
    LoginThrottledError,
    check_login_allowed,
    clear_login_failures,
    record_login_failure,
)

__all__ = [
    "LoginFailure",
    "LoginLimits",
    "LoginThrottledError",
    "check_login_allowed",
    "clear_login_failures",
    "record_login_failure",
]
