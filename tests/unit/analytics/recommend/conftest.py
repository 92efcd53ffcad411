import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

SLICE = Path(__file__).parents[3] / "data" / "recs" / "online_retail_ii_recs.csv"


@pytest.fixture(scope="session")
def retail_lines() -> pa.Table:
    """200 customers' whole histories from Online Retail II (cancellations included)."""
    table = pacsv.read_csv(
        SLICE,
        convert_options=pacsv.ConvertOptions(
            column_types={"order_id": pa.string(), "item_id": pa.string()}
        ),
    )
    return table.set_column(
        table.schema.get_field_index("timestamp"),
        "timestamp",
        pc.cast(table.column("timestamp"), pa.timestamp("s", tz="UTC")),
    )


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2024, 1, 1, hour, tzinfo=dt.UTC) + dt.timedelta(days=day)


@pytest.fixture
def toy_lines() -> pa.Table:
    """A hand-made shop: tea and cups go together; customer 1 buys tea every month."""
    rows = [
        # customer, order, item, day
        (1, "o1", "tea", 0),
        (1, "o1", "cup", 0),
        (1, "o2", "tea", 30),
        (1, "o3", "tea", 60),
        (2, "o4", "tea", 10),
        (2, "o4", "cup", 10),
        (2, "o4", "saucer", 10),
        (3, "o5", "tea", 20),
        (3, "o5", "saucer", 20),
        (3, "o6", "kettle", 40),
        (4, "o7", "cup", 50),
        (4, "o7", "saucer", 50),
        (5, "o8", "kettle", 55),
        (5, "o8", "tea", 55),
    ]
    return pa.table(
        {
            "customer_id": pa.array([r[0] for r in rows], pa.int64()),
            "order_id": [r[1] for r in rows],
            "item_id": [r[2] for r in rows],
            "timestamp": pa.array([at(r[3]) for r in rows], pa.timestamp("us", tz="UTC")),
            "quantity": pa.array([1.0] * len(rows)),
        }
    )
