"""The memory-saving paths of CLV give, to the bit, what the plain computations give.

Tuples held as distinct values and codes, P(alive) and CLV computed in blocks, and the spend
count read as integers without a float copy.
"""

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kehu.analytics import InvalidDataError
from kehu.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    _bgnbd,
    _gammagamma,
    customer_lifetime_value,
    simulate_transactions,
    summarize_transactions,
)
from kehu.analytics.clv._common import RFT_COLUMNS, CompressedRFT, compress_columns, read_rft


@pytest.fixture(scope="module")
def summary() -> pa.Table:
    transactions = simulate_transactions(3000, start=dt.date(2020, 1, 1), random_state=5)
    return summarize_transactions(transactions, calibration_end="2021-12-28")


def test_tuples_are_held_as_codes_and_decode_to_the_plain_compression(summary: pa.Table) -> None:
    # Given a summary of 3,000 simulated customers
    d = read_rft(summary)
    # Then its tuples are the plain compression's, held as int16 codes into distinct values
    (x, t_x, T), counts, inverse = compress_columns(summary, RFT_COLUMNS)
    assert len(x) > 1000
    np.testing.assert_array_equal(d.x, x)
    np.testing.assert_array_equal(d.t_x, t_x)
    np.testing.assert_array_equal(d.T, T)
    np.testing.assert_array_equal(d.weight, counts)
    assert d.inverse is not None
    np.testing.assert_array_equal(d.inverse, inverse)
    assert "x" not in vars(d)
    assert all(codes.dtype == np.int16 for _, codes in d._coded)  # type: ignore[attr-defined]
    # And a block of tuples is the slice of each column
    block = d.rows(100, 250)
    assert type(block) is CompressedRFT
    np.testing.assert_array_equal(block.x, x[100:250])
    np.testing.assert_array_equal(block.t_x, t_x[100:250])
    np.testing.assert_array_equal(block.T, T[100:250])
    np.testing.assert_array_equal(block.weight, counts[100:250])


@pytest.mark.parametrize("model_class", [BetaGeoModel, ModifiedBetaGeoModel])
@pytest.mark.parametrize("at", [0.0, 26.0])
def test_p_alive_in_blocks_equals_p_alive_in_one_go(
    summary: pa.Table, monkeypatch: pytest.MonkeyPatch, model_class: type[BetaGeoModel], at: float
) -> None:
    model = model_class().fit(summary)
    d = read_rft(summary)
    whole = model._p_alive_block(model._theta, d, at)
    # When P(alive) runs over blocks of 257 tuples (the last one partial)
    monkeypatch.setattr(_bgnbd, "_TUPLES_PER_BLOCK", 257)
    assert len(d.x) % 257
    blocked = model._p_alive(model._theta, d, at)
    # Then it is the same, to the bit
    np.testing.assert_array_equal(blocked, whole)
    assert np.all((blocked > 0) & (blocked <= 1))


def test_clv_in_blocks_equals_purchases_times_expected_spend(
    summary: pa.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    bg = BetaGeoModel().fit(summary)
    gg = GammaGammaModel().fit(summary)
    monkeypatch.setattr(_gammagamma, "_PAIRS_PER_BLOCK", 100)
    clv = customer_lifetime_value(bg, gg, summary, months=12, discount_rate=0.01)
    # The plain computation: discounted purchases per customer times the expected spend
    d = read_rft(summary)
    steps = np.arange(1, 13, dtype=np.float64)
    factor = bg._discounted_purchases(bg._theta, d, steps * (365.25 / 12 / 7), 1.0 / 1.01**steps)
    np.testing.assert_array_equal(clv, d.expand(factor) * gg.expected_spend(summary))
    # And values of another length are refused with a clear error
    with pytest.raises(InvalidDataError, match="do not match"):
        gg._multiply_by_expected_spend(summary, np.ones(summary.num_rows - 1))


def test_integer_spend_counts_give_what_float_counts_give(summary: pa.Table) -> None:
    # Given the summary's n_monetary as integers (as summarised) and as floats
    assert pa.types.is_integer(summary.schema.field("n_monetary").type)
    position = summary.schema.get_field_index("n_monetary")
    floats = summary.set_column(
        position, "n_monetary", pc.cast(summary.column("n_monetary"), pa.float64())
    )
    count, _ = _gammagamma._read_spend(summary)
    assert np.issubdtype(count.dtype, np.integer)
    # Then the fits and the expected spends are the same, to the bit
    on_ints, on_floats = GammaGammaModel().fit(summary), GammaGammaModel().fit(floats)
    assert on_ints.params_ == on_floats.params_
    assert on_ints.n_distinct_ == on_floats.n_distinct_
    assert on_ints.frequency_spend_correlation_ == on_floats.frequency_spend_correlation_
    np.testing.assert_array_equal(on_ints.expected_spend(summary), on_floats.expected_spend(floats))
