"""A year of real retail data in which nobody has visibly left: the dropout is not identified."""

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import kehu
from kehu.analytics import ConvergenceError
from kehu.analytics.clv import (
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    summarize_transactions,
)

DEMO = Path(kehu.__file__).parent / "demo" / "data" / "online_retail_ii_demo.parquet"


@pytest.fixture(scope="module")
def retail_summary() -> pa.Table:
    raw = pq.read_table(DEMO)
    raw = raw.filter(pc.invert(pc.is_null(raw["Customer ID"])))
    transactions = pa.table(
        {
            "customer_id": pc.cast(raw["Customer ID"], pa.int64()),
            "timestamp": pc.strptime(raw["InvoiceDate"], "%Y-%m-%d %H:%M:%S", "s"),
            "amount": pc.multiply(pc.cast(raw["Quantity"], pa.float64()), raw["Price"]),
        }
    )
    summary = summarize_transactions(transactions, calibration_end=dt.date(2010, 12, 9))
    return summary.filter(pc.greater(summary["T"], 0))


def test_the_strict_default_refuses_a_flat_dropout(retail_summary):
    with pytest.raises(ConvergenceError, match="flat or not concave"):
        BetaGeoModel().fit(retail_summary)


@pytest.mark.parametrize("model_type", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_keep_reports_the_dropout_as_unidentified_and_agrees_with_the_nbd_limit(
    model_type, retail_summary
):
    model = model_type(unidentified_dropout="keep").fit(retail_summary)

    assert model.unidentified_params_ == list(model.dropout_params)
    assert all(np.isinf(model.standard_errors_[name]) for name in model.dropout_params)
    # The purchase process stays identified, with finite errors, and every model reaches the
    # same NBD limit (no dropout): the same likelihood and the same rates.
    assert model.log_likelihood_ == pytest.approx(-6813.67, abs=0.05)
    assert model.params_["r"] == pytest.approx(0.847, abs=2e-3)
    assert model.params_["alpha"] == pytest.approx(10.64, abs=0.02)
    assert 0 < model.standard_errors_["r"] < 0.1
    assert np.all(model.probability_alive(retail_summary) > 0.9999)
