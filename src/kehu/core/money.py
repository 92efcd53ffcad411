"""Money is a Decimal with a currency code, never a float."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from kehu.core.errors import InvalidInputError

CENT = Decimal("0.01")


def to_money(value: object) -> Decimal:
    """Convert ``value`` to a Decimal rounded to cents (banker's rounding).

    Floats are converted through their shortest ``repr`` so 0.1 stays 0.10, not
    0.1000000000000000055511151231257827.
    """
    if isinstance(value, Decimal):
        amount = value
    else:
        text = repr(value) if isinstance(value, float) else str(value).strip()
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise InvalidInputError(f"{value!r} is not an amount of money", code="money") from exc
    if not amount.is_finite():
        raise InvalidInputError(f"{value!r} is not a finite amount of money", code="money")
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
