"""Normalising identity values so the same handle always matches."""

import re

from kehu.core import InvalidInputError
from kehu.customers.errors import CustomerErrorCode
from kehu.customers.models import IdentityKind

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_JUNK = re.compile(r"[\s\-().]")


def normalise_identity(
    kind: IdentityKind | str, value: str, *, default_calling_code: str | None = None
) -> tuple[IdentityKind, str]:
    """Return the identity kind and its canonical value.

    E-mail addresses are lower-cased; phone numbers lose spaces, dashes and brackets, and a
    leading ``00`` becomes ``+``; with ``default_calling_code`` (e.g. ``"86"``) a number written
    without one gets it (its trunk ``0`` dropped), so ``138 1234 5678`` and ``+86 138-1234-5678``
    are the same phone. Other handles are kept as given, trimmed (WeChat openids are case
    sensitive).

    Raises
    ------
    InvalidInputError
        For an unknown kind, an empty value or a malformed e-mail address or phone number.
    """
    try:
        kind = IdentityKind(kind)
    except ValueError as exc:
        kinds = ", ".join(k.value for k in IdentityKind)
        raise InvalidInputError(
            f"Unknown identity kind {kind!r}; use one of {kinds}.",
            code=CustomerErrorCode.BAD_IDENTITY,
        ) from exc
    text = str(value).strip()
    if not text:
        raise InvalidInputError(f"The {kind.value} is empty.", code=CustomerErrorCode.BAD_IDENTITY)
    if kind is IdentityKind.EMAIL:
        text = text.lower()
        if not _EMAIL.match(text):
            raise InvalidInputError(
                f"{value!r} is not an e-mail address.", code=CustomerErrorCode.BAD_IDENTITY
            )
    elif kind is IdentityKind.PHONE:
        text = _PHONE_JUNK.sub("", text)
        if text.startswith("00"):
            text = "+" + text[2:]
        digits = text[1:] if text.startswith("+") else text
        if not digits.isdigit() or not 5 <= len(digits) <= 15:
            raise InvalidInputError(
                f"{value!r} is not a phone number.", code=CustomerErrorCode.BAD_IDENTITY
            )
        if default_calling_code and not text.startswith("+"):
            text = "+" + default_calling_code + digits.removeprefix("0")
    if len(text) > 320:
        raise InvalidInputError(
            f"The {kind.value} is longer than 320 characters.", code=CustomerErrorCode.BAD_IDENTITY
        )
    return kind, text
