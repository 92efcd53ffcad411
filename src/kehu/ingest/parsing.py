"""Parsing the text of one cell: dates, amounts, whole numbers, external ids.

The functions raise ``ValueError`` with a sentence a person can act on; the row models in
:mod:`kehu.ingest.validation` and the fast order path both use them, so a value means the same
thing whichever path reads it.
"""

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

ACCEPTED_DATES = (
    "ISO 8601 (2010-12-01, 2010-12-01T07:45:00, 2010-12-01 07:45:00+08:00), "
    "YYYY/MM/DD [HH:MM[:SS]] or YYYYMMDD"
)
_SLASHED = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_AMBIGUOUS = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}")
_FLOAT_ID = re.compile(r"^(\d+)\.0+$")
_CENT = Decimal("0.01")


def parse_datetime(text: str, date_format: str | None = None) -> datetime:
    """Parse a date or timestamp; naive values are taken as UTC.

    With ``date_format`` (a :func:`datetime.strptime` format, e.g. ``%d/%m/%Y %H:%M``) only that
    format is accepted.
    """
    value = text.strip()
    if date_format:
        try:
            parsed = datetime.strptime(value, date_format)  # noqa: DTZ007 - made UTC below
        except ValueError:
            raise ValueError(f"{value!r} does not match the date format {date_format!r}") from None
    else:
        parsed = _parse_known(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_known(value: str) -> datetime:
    match = _COMPACT.match(value)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return _checked(value, year, month, day)
    match = _SLASHED.match(value)
    if match:
        year, month, day = (int(g) for g in match.groups()[:3])
        hour, minute, second = (int(g or 0) for g in match.groups()[3:])
        return _checked(value, year, month, day, hour, minute, second)
    if not _AMBIGUOUS.match(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        raise ValueError(f"{value!r} is not a date kehu understands; use {ACCEPTED_DATES}")
    raise ValueError(
        f"{value!r} is ambiguous (day/month or month/day?); use {ACCEPTED_DATES}, or give the "
        "format in the mapping as __date_format__ (e.g. %d/%m/%Y %H:%M)"
    )


def _checked(
    value: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    try:
        return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - made UTC by the caller
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a real date ({exc})") from None


def parse_date(text: str) -> date:
    """Parse a calendar date (``YYYY-MM-DD``, ``YYYY/MM/DD`` or ``YYYYMMDD``)."""
    return _parse_known(text.strip()).date()


def parse_amount(text: str) -> Decimal:
    """Parse an amount of money (a dot as decimal separator, thousands commas allowed)."""
    value = text.strip().replace(",", "")
    for symbol in ("£", "$", "€", "¥", "￥"):
        value = value.replace(symbol, "")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount (use digits and a dot: 6.95)") from None
    if not amount.is_finite():
        raise ValueError(f"{text!r} is not a finite amount")
    if abs(amount) >= Decimal("1e12"):
        raise ValueError(f"{text!r} is too large an amount")
    return amount.quantize(_CENT)


def parse_quantity(text: str) -> int:
    """Parse a whole number of units (``12``, ``-3``, ``12.0``)."""
    value = text.strip()
    try:
        return int(value)
    except ValueError:
        pass
    match = _FLOAT_ID.match(value.lstrip("-"))
    if match:
        return -int(match.group(1)) if value.startswith("-") else int(match.group(1))
    raise ValueError(f"{text!r} is not a whole number")


def clean_external_id(text: str) -> str:
    """Return an external id as kehu keeps it: trimmed, ``13085.0`` (a float export) → ``13085``."""
    value = text.strip()
    match = _FLOAT_ID.match(value)
    return match.group(1) if match else value
