"""Summarising a file as it is read gives what summarising the table in memory gives.

A sorted CSV with integer ids is summarised block by block (customers cut across blocks and
slices); any other file (rows out of order, text ids, Parquet) is read whole and sorted. The
fits run on our own BFGS, without importing scipy.optimize, to the same optimum.
"""

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from kehu.analytics import InvalidDataError
from kehu.analytics.clv import _summary, _summary_local, summarize_transactions, summary_info
from kehu.analytics.clv._mle import _bfgs


def _messy_sorted(seed: int, *, text_ids: bool = False) -> pa.Table:
    """Rows sorted by customer and day: same-day repeats, returns, free items, empty cells."""
    rng = np.random.default_rng(seed)
    n = 6000
    ids = rng.integers(0, 400, n)
    days = rng.integers(0, 90, n).astype(np.int32)
    # Customers 300+ buy only from day 40 on: some are new in the holdout.
    days[ids >= 300] = rng.integers(40, 90, int(np.sum(ids >= 300))).astype(np.int32)
    amounts = np.round(rng.normal(12.0, 15.0, n), 2)
    amounts[rng.random(n) < 0.05] = 0.0
    ids = np.concatenate([ids, np.arange(0, 300), np.arange(0, 300)])
    days = np.concatenate([days, np.full(600, 5, dtype=np.int32)])
    amounts = np.concatenate([amounts, np.full(300, 7.5), np.full(300, -2.5)])
    order = np.lexsort((days, ids))
    ids, days, amounts = ids[order], days[order], amounts[order]

    def holes(values: np.ndarray) -> np.ndarray:
        return rng.random(len(values)) < 0.01

    customer: pa.Array = pa.array(ids, mask=holes(ids))
    if text_ids:
        customer = pa.array([None if i is None else f"c{i:04d}" for i in customer.to_pylist()])
    return pa.table(
        {
            "customer_id": customer,
            "date": pa.array(days, mask=holes(days)).cast(pa.date32()),
            "amount": pa.array(amounts, mask=holes(amounts)),
        }
    )


def _assert_same_summary(ours: pa.Table, theirs: pa.Table) -> None:
    assert ours.schema.equals(theirs.schema, check_metadata=True)
    assert ours.num_rows == theirs.num_rows
    for name in ours.column_names:
        if pa.types.is_floating(ours.schema.field(name).type):
            np.testing.assert_allclose(
                ours[name].to_numpy(), theirs[name].to_numpy(), rtol=1e-12, atol=1e-9, err_msg=name
            )
        else:
            assert ours.column(name).equals(theirs.column(name)), name


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Read 4 KB blocks (~150 rows) and summarise in ~700-row slices; record the path taken."""
    monkeypatch.setattr(_summary, "_CSV_BLOCK_BYTES", 4096)
    monkeypatch.setattr(_summary_local, "_ROWS_PER_SLICE", 700)
    taken: list[str] = []
    whole, streamed = _summary.summarize_local, _summary.summarize_sorted_batches

    def spy_whole(*args: Any, **kwargs: Any) -> Any:
        taken.append("whole")
        return whole(*args, **kwargs)

    def spy_streamed(*args: Any, **kwargs: Any) -> Any:
        taken.append("streamed")
        return streamed(*args, **kwargs)

    monkeypatch.setattr(_summary, "summarize_local", spy_whole)
    monkeypatch.setattr(_summary, "summarize_sorted_batches", spy_streamed)
    return taken


@pytest.mark.parametrize("holdout_end", [None, "1970-03-01"])
def test_a_sorted_csv_is_summarised_as_it_is_read(
    tmp_path: Path, small_blocks: list[str], holdout_end: str | None
) -> None:
    # Given sorted transactions with empty cells, returns and future rows, in a CSV file
    transactions = _messy_sorted(3)
    path = tmp_path / "transactions.csv"
    pacsv.write_csv(transactions, path)
    dates = {"calibration_end": "1970-02-10", "holdout_end": holdout_end}
    # When the file is summarised from its path
    ours = summarize_transactions(path, **dates)
    # Then it was read as a stream, and the summary is the in-memory table's
    assert small_blocks == ["streamed"]
    theirs = summarize_transactions(transactions, **dates)
    _assert_same_summary(ours, theirs)
    info = summary_info(ours)
    assert int(info["n_rows"]) == transactions.num_rows
    assert int(info["n_incomplete_rows"]) > 0
    assert int(info["n_future_rows"]) > 0
    if holdout_end is not None:
        assert int(info["n_new_in_holdout"]) > 0


def test_a_csv_out_of_order_is_read_whole_and_sorted(
    tmp_path: Path, small_blocks: list[str]
) -> None:
    # Given the same rows, one block's worth of them moved to the end of the file
    transactions = _messy_sorted(4)
    moved = pa.concat_tables([transactions.slice(2000), transactions.slice(0, 2000)])
    path = tmp_path / "transactions.csv"
    pacsv.write_csv(moved, path)
    dates = {"calibration_end": "1970-02-10", "holdout_end": "1970-03-01"}
    # When it is summarised from its path
    ours = summarize_transactions(str(path), **dates)
    # Then the stream gave up at the first row out of order and the whole file was sorted
    assert small_blocks == ["streamed", "whole"]
    _assert_same_summary(ours, summarize_transactions(transactions, **dates))


def test_text_ids_and_parquet_files_are_read_whole(tmp_path: Path, small_blocks: list[str]) -> None:
    transactions = _messy_sorted(5, text_ids=True)
    dates = {"calibration_end": "1970-02-10", "holdout_end": "1970-03-01"}
    expected = summarize_transactions(transactions, **dates)
    small_blocks.clear()
    csv, parquet = tmp_path / "t.csv", tmp_path / "t.parquet"
    pacsv.write_csv(transactions, csv)
    pq.write_table(transactions, parquet)
    _assert_same_summary(summarize_transactions(csv, **dates), expected)
    _assert_same_summary(summarize_transactions(parquet, **dates), expected)
    assert small_blocks == ["whole", "whole"]
    assert expected.column("customer_id")[0].as_py().startswith("c")


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("customer_id,date,amount\n", "analytics.empty"),
        ("customer_id,date\n1,2020-01-01\n", "analytics.missing_column"),
        ("customer_id,date,amount\n1,2020-01-01,1.0\n", "analytics.empty"),  # after the end
    ],
)
def test_bad_files_get_clear_messages(tmp_path: Path, content: str, code: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(InvalidDataError) as raised:
        summarize_transactions(path, calibration_end="2019-12-31")
    assert raised.value.code == code


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match=r"No such file") as raised:
        summarize_transactions(tmp_path / "nope.csv", calibration_end="2019-12-31")
    assert raised.value.code == "analytics.no_file"


def test_our_bfgs_finds_the_minimum_scipy_finds() -> None:
    from scipy import optimize

    def f(u: np.ndarray) -> float:  # Rosenbrock
        return float(100.0 * (u[1] - u[0] ** 2) ** 2 + (1.0 - u[0]) ** 2)

    def g(u: np.ndarray) -> np.ndarray:
        return np.array(
            [-400.0 * u[0] * (u[1] - u[0] ** 2) - 2.0 * (1.0 - u[0]), 200.0 * (u[1] - u[0] ** 2)]
        )

    x, n_iter, message = _bfgs(f, g, np.array([-1.2, 1.0]), gtol=1e-9, max_iter=500)
    theirs = optimize.minimize(f, [-1.2, 1.0], jac=g, method="BFGS", options={"gtol": 1e-9})
    assert np.max(np.abs(g(x))) <= 1e-9, message
    np.testing.assert_allclose(x, theirs.x, rtol=1e-7)
    np.testing.assert_allclose(x, [1.0, 1.0], rtol=1e-7)
    assert 0 < n_iter < 200


def test_fitting_does_not_import_scipy_optimize() -> None:
    # scipy.optimize costs a sixth of a second and ~26 MB: more than a fit of a million
    # customers; it is imported only where our BFGS does not converge.
    code = (
        "import sys\n"
        "from kehu.analytics.clv import BetaGeoModel, GammaGammaModel, simulate_summary\n"
        "s = simulate_summary(20000, random_state=1)\n"
        "BetaGeoModel().fit(s)\nGammaGammaModel().fit(s)\n"
        "print('scipy.optimize' in sys.modules)\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_read_ahead_keeps_the_order_and_raises_the_readers_error_where_it_happened():
    assert list(_summary._read_ahead(iter(range(50)), depth=2)) == list(range(50))

    def failing():
        yield 1
        yield 2
        raise ValueError("bad block")

    batches = _summary._read_ahead(failing())
    assert [next(batches), next(batches)] == [1, 2]
    with pytest.raises(ValueError, match="bad block"):
        next(batches)


def test_closing_the_read_ahead_stops_its_thread():
    import contextlib
    import threading

    pulled = []

    def endless():
        n = 0
        while True:
            pulled.append(n)
            yield n
            n += 1

    with contextlib.closing(_summary._read_ahead(endless(), depth=2)) as batches:
        assert next(batches) == 0
    assert not [t for t in threading.enumerate() if t.name == "kehu-csv-read-ahead"]
    assert len(pulled) <= 5  # the first, the two waiting, one being offered, one more at most
