from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from kehu.store import UTCDateTime
from kehu.store.bulk import _sqlite_utc_timestamp


@pytest.mark.parametrize(
    "value",
    [
        datetime(2010, 12, 9, 20, 1, tzinfo=UTC),
        datetime(2009, 12, 1, 7, 45, 0, 123456, tzinfo=UTC),
        datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=8))),
        datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_the_bulk_writer_stores_timestamps_exactly_as_the_orm_does(value):
    dialect = sqlite.dialect()
    orm = UTCDateTime()._cached_bind_processor(dialect)

    assert _sqlite_utc_timestamp(value) == orm(value)


def test_naive_timestamps_are_refused_like_the_orm_does():
    with pytest.raises(ValueError, match="naive datetime"):
        _sqlite_utc_timestamp(datetime(2010, 1, 1))  # noqa: DTZ001 - the naive case is the point
