from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from kehu.core import InvalidInputError, Settings, as_utc, to_money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, Decimal("0.10")),
        ("2.675", Decimal("2.68")),
        (Decimal("1.005"), Decimal("1.00")),
        (3, Decimal("3.00")),
        ("-4.5", Decimal("-4.50")),
    ],
)
def test_money_is_decimal_cents(value, expected):
    assert to_money(value) == expected


@pytest.mark.parametrize("value", ["abc", "nan", "inf", ""])
def test_money_refuses_what_is_not_an_amount(value):
    with pytest.raises(InvalidInputError, match="amount of money"):
        to_money(value)


def test_as_utc_converts_aware_and_labels_naive():
    beijing = timezone(timedelta(hours=8))

    assert as_utc(datetime(2026, 1, 1, 8, 0, tzinfo=beijing)) == datetime(2026, 1, 1, tzinfo=UTC)
    assert as_utc(datetime(2026, 1, 1)).tzinfo is UTC  # noqa: DTZ001 - the naive case is the point


def test_production_refuses_the_placeholder_secret():
    with pytest.raises(ValueError, match="KEHU_SECRET_KEY"):
        Settings(environment="production")

    assert Settings(environment="production", secret_key="x" * 40).secret_key == "x" * 40
