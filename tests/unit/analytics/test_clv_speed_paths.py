"""The paths that make CLV fast at scale give what the plain paths give.

The numpy summary (against the Ibis expression on DuckDB), chunked summaries, fits started
from coarsened data, and the estimator base that spares the scikit-learn import.
"""

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from kehu.analytics import InvalidDataError
from kehu.analytics._base import arrow_values, numpy_values
from kehu.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    _gammagamma,
    _summary,
    _summary_local,
    simulate_summary,
    summarize_transactions,
    summary_info,
)
from kehu.analytics.clv._common import read_rft, unique_counts
from kehu.analytics.clv._mle import fit_log_params


def _as_text_ids(transactions: pa.Table) -> pa.Table:
    return transactions.set_column(
        0, "customer_id", pc.cast(transactions.column("customer_id"), pa.string())
    )


@pytest.mark.parametrize("text_ids", [False, True])
def test_summary_in_chunks_of_customers_equals_the_summary_in_one_go(
    cdnow_sample_transactions: pa.Table, monkeypatch: pytest.MonkeyPatch, text_ids: bool
) -> None:
    # Given the CDNOW sample with integer or text customer ids
    transactions = cdnow_sample_transactions
    if text_ids:
        transactions = _as_text_ids(transactions)
    dates = {"calibration_end": "1997-09-30", "holdout_end": "1998-06-30"}
    whole = summarize_transactions(transactions, **dates, engine="duckdb")
    # When the DuckDB summary runs in chunks of about 1000 transactions (7 chunks)
    monkeypatch.setattr(_summary, "_ROWS_PER_CHUNK", 1000)
    chunked = summarize_transactions(transactions, **dates, engine="duckdb")
    # Then it has the same customers in the same order, with the same figures
    assert chunked.num_rows == whole.num_rows == 2357
    assert chunked.column("customer_id").equals(whole.column("customer_id"))
    for name in whole.column_names:
        if pa.types.is_floating(whole.schema.field(name).type):
            # DuckDB's parallel sums may differ in the last bit from run to run
            np.testing.assert_allclose(chunked[name].to_numpy(), whole[name].to_numpy(), rtol=1e-12)
        else:
            assert chunked.column(name).equals(whole.column(name)), name
    assert _summary.summary_info(chunked) == _summary.summary_info(whole)


@pytest.mark.parametrize("engine", ["numpy", "duckdb"])
def test_integer_ids_are_sorted_numerically_and_text_ids_as_text(engine: str) -> None:
    days = pa.array([0, 3, 0, 5, 1], pa.int32()).cast(pa.date32())
    ids = [10, 10, 9, 9, 100]
    numeric = summarize_transactions(
        pa.table({"customer_id": ids, "date": days, "amount": [1.0] * 5}),
        calibration_end="1970-01-10",
        engine=engine,
    )
    text = summarize_transactions(
        pa.table({"customer_id": [str(i) for i in ids], "date": days, "amount": [1.0] * 5}),
        calibration_end="1970-01-10",
        engine=engine,
    )
    assert numeric.column("customer_id").to_pylist() == ["9", "10", "100"]
    assert text.column("customer_id").to_pylist() == ["10", "100", "9"]


def _assert_same_summary(ours: pa.Table, theirs: pa.Table) -> None:
    """Same schema (metadata included), customers, counts and dates; sums to the last bits."""
    assert ours.schema.equals(theirs.schema, check_metadata=True)
    assert ours.num_rows == theirs.num_rows
    for name in ours.column_names:
        if pa.types.is_floating(ours.schema.field(name).type):
            np.testing.assert_allclose(
                ours[name].to_numpy(), theirs[name].to_numpy(), rtol=1e-12, atol=1e-9, err_msg=name
            )
        else:
            assert ours.column(name).equals(theirs.column(name)), name


@pytest.mark.parametrize("text_ids", [False, True])
@pytest.mark.parametrize("holdout_end", [None, "1998-06-30"])
def test_numpy_summary_equals_the_duckdb_summary_on_cdnow(
    cdnow_sample_transactions: pa.Table, text_ids: bool, holdout_end: str | None
) -> None:
    transactions = cdnow_sample_transactions
    if text_ids:
        transactions = _as_text_ids(transactions)
    dates = {"calibration_end": "1997-09-30", "holdout_end": holdout_end}
    ours = summarize_transactions(transactions, **dates)
    theirs = summarize_transactions(transactions, **dates, engine="duckdb")
    assert ours.num_rows == 2357
    _assert_same_summary(ours, theirs)


def _messy_transactions(seed: int) -> pa.Table:
    """Shuffled rows with same-day repeats, returns, free items, gaps and late newcomers."""
    rng = np.random.default_rng(seed)
    n = 6000
    ids = rng.integers(0, 400, n)
    days = rng.integers(0, 90, n).astype(np.int32)
    # Customers 300+ buy only from day 40 on: some are new in the holdout.
    days[ids >= 300] = rng.integers(40, 90, int(np.sum(ids >= 300))).astype(np.int32)
    amounts = np.round(rng.normal(12.0, 15.0, n), 2)
    amounts[rng.random(n) < 0.05] = 0.0
    # Every customer buys on day 5 twice (a same-day repeat): many multi-row days.
    ids = np.concatenate([ids, np.arange(0, 300), np.arange(0, 300)])
    days = np.concatenate([days, np.full(600, 5, dtype=np.int32)])
    amounts = np.concatenate([amounts, np.full(300, 7.5), np.full(300, -2.5)])

    def holes(values: np.ndarray) -> np.ndarray:
        return rng.random(len(values)) < 0.01

    return pa.table(
        {
            "customer_id": pa.array(ids, mask=holes(ids)),
            "date": pa.array(days, mask=holes(days)).cast(pa.date32()),
            "amount": pa.array(amounts, mask=holes(amounts)),
        }
    )


@pytest.mark.parametrize("text_ids", [False, True])
@pytest.mark.parametrize("holdout_end", [None, "1970-03-01"])
@pytest.mark.parametrize("order", ["shuffled", "sorted"])
def test_numpy_summary_equals_the_duckdb_summary_on_messy_data(
    monkeypatch: pytest.MonkeyPatch, text_ids: bool, holdout_end: str | None, order: str
) -> None:
    # Given shuffled or sorted transactions with empty cells, returns, zero amounts, same-day
    # repeats and future rows, in record batches of 500 rows
    transactions = _messy_transactions(3)
    if order == "sorted":
        transactions = transactions.sort_by([("customer_id", "ascending"), ("date", "ascending")])
    if text_ids:
        transactions = _as_text_ids(transactions)
    transactions = pa.Table.from_batches(transactions.to_batches(max_chunksize=500))
    # When the numpy path works in slices of about 700 rows (customers cut across batches)
    monkeypatch.setattr(_summary_local, "_ROWS_PER_SLICE", 700)
    dates = {"calibration_end": "1970-02-10", "holdout_end": holdout_end}
    ours = summarize_transactions(transactions, **dates)
    theirs = summarize_transactions(transactions, **dates, engine="duckdb")
    # Then it is the DuckDB path's summary, left-out rows counted alike
    _assert_same_summary(ours, theirs)
    info = summary_info(ours)
    assert int(info["n_incomplete_rows"]) > 0
    assert int(info["n_future_rows"]) > 0
    if holdout_end is not None:
        assert int(info["n_new_in_holdout"]) > 0


def test_numpy_summary_does_not_depend_on_the_order_of_the_rows() -> None:
    transactions = _messy_transactions(5)
    shuffled = transactions.take(np.random.default_rng(0).permutation(transactions.num_rows))
    dates = {"calibration_end": "1970-02-10", "holdout_end": "1970-03-01"}
    _assert_same_summary(
        summarize_transactions(shuffled, **dates), summarize_transactions(transactions, **dates)
    )


def test_unknown_summary_engine_is_refused() -> None:
    transactions = pa.table(
        {"customer_id": [1], "date": pa.array([0], pa.int32()).cast(pa.date32()), "amount": [1.0]}
    )
    with pytest.raises(InvalidDataError, match="engine must be"):
        summarize_transactions(transactions, calibration_end="1970-01-10", engine="spark")


@pytest.mark.parametrize(
    "array",
    [
        pa.array(np.arange(10, dtype=np.int64)).slice(3, 5),
        pa.array(np.linspace(0.0, 1.0, 7)),
        pa.array(np.arange(4, dtype=np.int32)).cast(pa.date32()).slice(1),
        pa.array(np.arange(5, dtype=np.uint16)),
        pa.chunked_array([pa.array([1.5, 2.5]), pa.array([3.5])]),
        pa.array([1, None, 3]),
    ],
)
def test_numpy_values_reads_arrow_arrays_as_to_numpy_does(array: pa.Array) -> None:
    expected = array.to_numpy(zero_copy_only=False) if array.null_count == 0 else None
    values = numpy_values(array)
    if pa.types.is_date32(array.type):
        expected = array.cast(pa.int32()).to_numpy()
    if expected is not None:
        np.testing.assert_array_equal(values, expected)
        assert values.dtype == expected.dtype
    back = arrow_values(values, array.type if pa.types.is_date32(array.type) else None)
    if array.null_count == 0:
        assert back.equals(pa.chunked_array([array]).combine_chunks())


def test_summarising_and_fitting_import_neither_pandas_nor_ibis_nor_duckdb() -> None:
    # pandas (through pyarrow's shim), Ibis and DuckDB each cost a third of a second or more
    # to import: more than the summary of a million customers.
    code = (
        "import sys, datetime as dt, pyarrow as pa\n"
        "from kehu.analytics.clv import BetaGeoModel, GammaGammaModel, "
        "customer_lifetime_value, summarize_transactions\n"
        "days = pa.Array.from_buffers(pa.int32(), 6, [None, pa.py_buffer("
        "bytes(memoryview(__import__('numpy').array([0, 9, 20, 3, 4, 30], 'int32'))))])"
        ".view(pa.date32())\n"
        "ids = pa.Array.from_buffers(pa.int64(), 6, [None, pa.py_buffer("
        "bytes(memoryview(__import__('numpy').array([1, 1, 1, 2, 2, 3], 'int64'))))])\n"
        "amounts = pa.Array.from_buffers(pa.float64(), 6, [None, pa.py_buffer("
        "bytes(memoryview(__import__('numpy').array([5., 7., 9., 4., 6., 3.]))))])\n"
        "s = summarize_transactions(pa.table({'customer_id': ids, 'date': days, "
        "'amount': amounts}), calibration_end=dt.date(1970, 2, 20))\n"
        "s.column('T').to_numpy  # the summary is there\n"
        "print(sorted(m for m in ('pandas', 'ibis', 'duckdb') if m in sys.modules))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_bgnbd_fit_started_from_coarsened_tuples_is_the_full_data_optimum() -> None:
    # Given 20,000 simulated customers (far more distinct tuples than the one-pass threshold)
    summary = simulate_summary(20_000, random_state=7)
    model = BetaGeoModel().fit(summary)
    # Then the gradient of the full data's likelihood vanishes at the parameters found
    d = read_rft(summary)
    value_and_grad = model._prepare_total(d)
    theta = model._theta
    _, grad = value_and_grad(theta)
    assert np.max(np.abs(grad * theta)) / d.weight.sum() < 1e-6
    # And a cold start on the same likelihood lands on the same parameters
    cold = fit_log_params(
        lambda t: value_and_grad(t)[0],
        lambda t: value_and_grad(t)[1],
        names=model.param_names,
        total_weight=float(d.weight.sum()),
        penalizer=0.0,
        tol=1e-7,
        max_iter=1000,
        model_name="BG/NBD",
        value_and_grad=value_and_grad,
    )
    np.testing.assert_allclose(theta, cold.params, rtol=1e-5)
    np.testing.assert_allclose(list(model.standard_errors_.values()), cold.standard_errors)


def test_gamma_gamma_fit_started_from_coarsened_spend_is_the_full_data_optimum() -> None:
    summary = simulate_summary(20_000, random_state=11)
    model = GammaGammaModel().fit(summary)
    usable = summary.filter(pc.greater(summary["frequency"], 0))
    x = usable["frequency"].to_numpy().astype(np.float64)
    m = usable["monetary_value"].to_numpy()
    assert len(x) >= _gammagamma.ONE_PASS_MIN_TUPLES  # the warm start was used
    value_and_grad = _gammagamma._prepare_total(x, m, np.ones_like(x))
    cold = fit_log_params(
        lambda t: value_and_grad(t)[0],
        lambda t: value_and_grad(t)[1],
        names=model.param_names,
        total_weight=float(len(x)),
        penalizer=0.0,
        tol=1e-7,
        max_iter=1000,
        model_name="Gamma-Gamma",
        value_and_grad=value_and_grad,
    )
    np.testing.assert_allclose(list(model.params_.values()), cold.params, rtol=1e-5)
    assert model.log_likelihood_ == pytest.approx(cold.log_likelihood, rel=1e-10)
    assert model.n_distinct_ == len(np.unique(np.column_stack([x, m]), axis=0))


def test_estimator_base_works_with_scikit_learn_tools(cdnow_sample_summary: pa.Table) -> None:
    model = BetaGeoModel(penalizer=0.1)
    assert repr(model) == "BetaGeoModel(penalizer=0.1)"
    with pytest.raises(NotFittedError, match="not fitted"):
        check_is_fitted(model)
    with pytest.raises(ValueError, match="Invalid parameter 'speed'"):
        model.set_params(speed=2)
    with pytest.raises(ValueError, match="'unidentified_dropout' parameter"):
        BetaGeoModel(unidentified_dropout="ignore").fit(cdnow_sample_summary)
    with pytest.raises(ValueError, match="'max_iter' parameter"):
        GammaGammaModel(max_iter=0).fit(cdnow_sample_summary)
    model.fit(cdnow_sample_summary)
    check_is_fitted(model)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "params_")


def test_importing_the_clv_models_does_not_import_scikit_learn() -> None:
    # sklearn.base costs seconds and ~175 MB: more than a CLV fit on a million customers.
    code = "import sys, kehu.analytics.clv; print('sklearn' in sys.modules)"
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    "codes",
    [
        np.array([7, 3, 7, 7, 0, 3], dtype=np.int64),  # narrow: counted in a dense table
        np.array([10**12, -(10**12), 5, 10**12, 5], dtype=np.int64),  # wide: sorted
        np.zeros(0, dtype=np.int64),
    ],
)
def test_unique_counts_is_numpy_unique(codes: np.ndarray) -> None:
    distinct, inverse, counts = unique_counts(codes)
    expected, expected_inverse, expected_counts = np.unique(
        codes, return_inverse=True, return_counts=True
    )
    np.testing.assert_array_equal(distinct, expected)
    np.testing.assert_array_equal(inverse, expected_inverse.ravel())
    np.testing.assert_array_equal(counts, expected_counts)
    assert inverse.dtype == np.int32
