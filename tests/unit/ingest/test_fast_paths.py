"""The vectorised fast paths of the orders import give exactly what the per-value code gives."""

import random
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from kehu.ingest.orders import _micros, _plain_timestamps
from kehu.ingest.parsing import parse_datetime
from kehu.store.bulk import _sqlite_utc_timestamp, sqlite_timestamps

_TRICKY = [
    "2010-12-01 07:45:00",
    "2012-02-29 23:59:59",
    "2010-02-29 00:00:00",  # not a leap year
    "2010-04-31 00:00:00",
    "2010-13-01 00:00:00",
    "2010-01-00 00:00:00",
    "2010-01-01 24:00:00",
    "2010-01-01 23:60:00",
    "2010-01-01 23:59:60",
    "1969-12-31 23:59:59",
    "0999-01-01 00:00:00",
    "1000-01-01 00:00:00",
    "9999-12-31 23:59:59",
    "2010-1-01 00:00:00",
    " 2010-01-01 00:00:00",
    "2010-01-01T00:00:00",
    "2010-01-01 00:00:00+08:00",
    "2010/01/01 00:00",
    "01/02/2010 00:00",
    "",
]


def _reference(text: str) -> int | None:
    try:
        return _micros(parse_datetime(text))
    except ValueError:
        return None


def test_plain_timestamps_take_only_what_parse_datetime_reads_the_same() -> None:
    rng = random.Random(7)
    texts = _TRICKY + [
        f"{rng.randint(1000, 9999)}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d} "
        f"{rng.randint(0, 25):02d}:{rng.randint(0, 61):02d}:{rng.randint(0, 61):02d}"
        for _ in range(20_000)
    ]
    values, taken = _plain_timestamps(pa.array(texts))
    for text, value, ok in zip(texts, values.tolist(), taken.tolist(), strict=True):
        if ok:
            assert value == _reference(text), text
    assert taken[:2].all()  # the plain, real ones are taken
    assert not taken[2:9].any()  # impossible dates and times are left to parse_datetime
    assert taken.sum() > 10_000


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1000, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
        datetime(2010, 1, 1, tzinfo=timezone(timedelta(hours=8))),
        datetime(2010, 1, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ],
)
def test_sqlite_timestamps_print_as_the_column_type_does(value: datetime) -> None:
    assert sqlite_timestamps([value]) == [_sqlite_utc_timestamp(value)]


def test_sqlite_timestamps_many_and_naive() -> None:
    rng = random.Random(3)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    values = [
        epoch + timedelta(microseconds=rng.randint(-(10**16), 2 * 10**17)) for _ in range(5000)
    ]
    assert sqlite_timestamps(values) == [_sqlite_utc_timestamp(v) for v in values]
    with pytest.raises(ValueError, match="naive"):
        sqlite_timestamps([datetime(2010, 1, 1)])  # noqa: DTZ001 - the point of the test
