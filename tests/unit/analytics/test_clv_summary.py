"""From transactions to the summary, and bad input at every step."""

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from kehu.analytics import ConvergenceError, InvalidDataError
from kehu.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    simulate_summary,
    summarize_transactions,
    summary_info,
)

D = dt.date


def _tx(rows: list[tuple[str, dt.date, float]]) -> pa.Table:
    ids, dates, amounts = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.table(
        {
            "customer_id": pa.array(list(ids), pa.string()),
            "date": pa.array(list(dates), pa.date32()),
            "amount": pa.array(list(amounts), pa.float64()),
        }
    )


def _by_id(summary: pa.Table) -> dict[str, dict]:
    return {row["customer_id"]: row for row in summary.to_pylist()}


def test_same_day_purchases_are_one_occasion_and_returns_net() -> None:
    tx = _tx(
        [
            ("a", D(2024, 1, 1), 10.0),
            ("a", D(2024, 1, 8), 30.0),
            ("a", D(2024, 1, 8), 10.0),  # second invoice the same day: one occasion, 40
            ("a", D(2024, 1, 15), 25.0),
            ("a", D(2024, 1, 15), -30.0),  # net -5: an occasion, left out of monetary
            ("a", D(2024, 1, 22), -10.0),  # a return alone: no occasion
        ]
    )

    row = _by_id(summarize_transactions(tx, calibration_end="2024-01-29"))["a"]

    assert row["frequency"] == 2
    assert row["recency"] == pytest.approx(2.0)
    assert row["T"] == pytest.approx(4.0)
    assert row["monetary_value"] == pytest.approx(40.0)
    assert row["n_monetary"] == 1


def test_timestamps_and_time_unit_in_days() -> None:
    tx = pa.table(
        {
            "customer_id": [1, 1],
            "timestamp": pa.array(
                [
                    dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC),
                    dt.datetime(2024, 1, 4, 23, tzinfo=dt.UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "amount": [5, 7],
        }
    )

    row = summarize_transactions(tx, calibration_end=D(2024, 1, 11), unit_days=1).to_pylist()[0]

    assert (row["customer_id"], row["frequency"], row["recency"], row["T"]) == ("1", 1, 3.0, 10.0)


def test_future_rows_are_excluded_and_counted_with_holdout() -> None:
    tx = _tx(
        [
            ("a", D(2024, 1, 1), 10.0),
            ("a", D(2024, 2, 5), 12.0),  # holdout
            ("a", D(2030, 1, 1), 99.0),  # future-dated
            ("b", D(2024, 1, 3), 8.0),
            ("c", D(2024, 2, 1), 8.0),  # first bought in the holdout: not in the cohort
        ]
    )

    summary = summarize_transactions(tx, calibration_end="2024-01-28", holdout_end="2024-02-25")
    rows = _by_id(summary)
    info = summary_info(summary)

    assert sorted(rows) == ["a", "b"]
    assert rows["a"]["frequency_holdout"] == 1
    assert rows["a"]["monetary_value_holdout"] == pytest.approx(12.0)
    assert rows["b"]["frequency_holdout"] == 0
    assert rows["a"]["duration_holdout"] == pytest.approx(4.0)
    assert info["n_future_rows"] == "1"
    assert info["n_new_in_holdout"] == "1"


def test_incomplete_rows_are_excluded_and_counted() -> None:
    tx = pa.table(
        {
            "customer_id": ["a", None, "a"],
            "date": pa.array([D(2024, 1, 1), D(2024, 1, 2), None], pa.date32()),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    summary = summarize_transactions(tx, calibration_end="2024-01-10")
    assert summary.num_rows == 1
    assert summary_info(summary)["n_incomplete_rows"] == "2"


@pytest.mark.parametrize(
    ("case", "table", "kwargs", "message"),
    [
        ("empty_case", _tx([]), {}, "empty"),
        (
            "missing_column_case",
            pa.table({"customer_id": ["a"], "amount": [1.0]}),
            {},
            "lacks the column",
        ),
        ("all_after_end_case", _tx([("a", D(2025, 1, 1), 1.0)]), {}, "No customer made a purchase"),
        (
            "holdout_before_calibration_case",
            _tx([("a", D(2024, 1, 1), 1.0)]),
            {"holdout_end": "2023-01-01"},
            "must be after",
        ),
        (
            "bad_date_case",
            _tx([("a", D(2024, 1, 1), 1.0)]),
            {"calibration_end": "soon"},
            "date like",
        ),
    ],
)
def test_bad_transactions_get_clear_messages(
    case: str, table: pa.Table, kwargs: dict, message: str
) -> None:
    arguments = {"calibration_end": "2024-06-30", **kwargs}
    with pytest.raises(InvalidDataError, match=message):
        summarize_transactions(table, **arguments)


def test_single_purchase_customers_only_cannot_be_fitted() -> None:
    tx = _tx([(str(i), D(2024, 1, 1 + i), 5.0) for i in range(20)])
    summary = summarize_transactions(tx, calibration_end="2024-03-01")

    with pytest.raises(InvalidDataError, match="No customer made a repeat purchase"):
        BetaGeoModel().fit(summary)
    with pytest.raises(InvalidDataError, match="spend per transaction cannot be estimated"):
        GammaGammaModel().fit(summary)


def test_zero_and_negative_spend_are_left_out_of_gamma_gamma(
    cdnow_sample_summary: pa.Table,
) -> None:
    zeroed = cdnow_sample_summary.set_column(
        cdnow_sample_summary.schema.get_field_index("monetary_value"),
        "monetary_value",
        pa.array(
            np.where(
                np.arange(cdnow_sample_summary.num_rows) % 10 == 0,
                -1.0,
                np.asarray(cdnow_sample_summary.column("monetary_value")),
            )
        ),
    )
    model = GammaGammaModel().fit(zeroed)
    assert model.n_customers_ + model.n_excluded_ == zeroed.num_rows
    assert model.n_customers_ < 946
    spend = model.expected_spend(zeroed)
    assert np.all(np.isfinite(spend))
    assert np.all(spend > 0)


@pytest.mark.parametrize("model_class", [BetaGeoModel, ParetoNBDModel])
def test_one_customer_or_identical_customers_raise_with_a_reason(model_class: type) -> None:
    one = pa.table({"frequency": [3], "recency": [20.0], "T": [30.0]})
    identical = pa.table({"frequency": [2] * 50, "recency": [10.0] * 50, "T": [30.0] * 50})
    for summary in (one, identical):
        with pytest.raises(ConvergenceError, match=r"identif|gradient|converge"):
            model_class().fit(summary)


def test_inconsistent_summary_is_refused() -> None:
    bad = pa.table({"frequency": [1, -1], "recency": [40.0, 0.0], "T": [30.0, 10.0]})
    with pytest.raises(InvalidDataError, match="frequency must be a whole number"):
        BetaGeoModel().fit(bad)


def test_negative_horizon_is_refused(cdnow_sample_summary: pa.Table) -> None:
    model = BetaGeoModel().fit(cdnow_sample_summary)
    with pytest.raises(InvalidDataError, match="horizon"):
        model.expected_purchases(cdnow_sample_summary, horizon=-1)


@pytest.mark.slow
def test_parameters_are_recovered_from_simulated_data() -> None:
    truth_purchases = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    truth_spend = {"p": 6.25, "q": 3.75, "v": 15.0}
    summary = simulate_summary(200_000, random_state=20240601, **truth_purchases, **truth_spend)

    purchases = BetaGeoModel().fit(summary)
    spend = GammaGammaModel().fit(summary)

    for model, truth in ((purchases, truth_purchases), (spend, truth_spend)):
        for name, value in truth.items():
            z = (model.params_[name] - value) / model.standard_errors_[name]
            assert abs(z) < 4, (name, model.params_[name], value)
