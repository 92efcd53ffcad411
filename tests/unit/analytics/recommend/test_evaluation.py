"""Ranking metrics on hand-computed cases, the temporal split, and the evaluation run."""

import datetime as dt
import math

import pyarrow as pa
import pytest

from kehu.analytics import InvalidDataError
from kehu.analytics.recommend import (
    BuyAgainRecommender,
    Holdout,
    Recommender,
    evaluate_recommenders,
    holdout_metrics,
    make_holdout,
    ndcg_ratios,
    ranking_metrics,
    split_at,
    user_metrics,
)


def test_user_metrics_by_hand() -> None:
    # Hits at ranks 2 and 4 out of 3 relevant items, k = 4.
    got = user_metrics(["a", "b", "c", "d"], {"b", "d", "e"}, 4)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert got == pytest.approx(
        {
            "precision": 2 / 4,
            "recall": 2 / 3,
            "hit_rate": 1.0,
            "map": (1 / 2 + 2 / 4) / 3,
            "ndcg": dcg / ideal,
        }
    )
    assert got["ndcg"] == pytest.approx(0.498189, abs=1e-6)


def test_user_metrics_edge_cases() -> None:
    # A short list: precision still divides by k; one relevant item found first is perfect.
    assert user_metrics(["x"], {"x"}, 2) == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "hit_rate": 1.0, "map": 1.0, "ndcg": 1.0}
    )
    assert user_metrics(["a", "b"], {"z"}, 2) == {
        "precision": 0.0,
        "recall": 0.0,
        "hit_rate": 0.0,
        "map": 0.0,
        "ndcg": 0.0,
    }
    # Only the first k count; MAP and NDCG normalise by min(|relevant|, k).
    got = user_metrics(["a", "b", "c"], {"a", "b", "c", "d", "e"}, 2)
    assert got == pytest.approx(
        {"precision": 1.0, "recall": 0.4, "hit_rate": 1.0, "map": 1.0, "ndcg": 1.0}
    )


def test_ranking_metrics_average_and_skip_empty_truth() -> None:
    got = ranking_metrics([["a"], ["b"], ["c"]], [{"a"}, {"z"}, set()], 1)
    assert got == {
        "precision": 0.5,
        "recall": 0.5,
        "hit_rate": 0.5,
        "map": 0.5,
        "ndcg": 0.5,
        "n_customers": 2.0,
    }
    with pytest.raises(InvalidDataError):
        ranking_metrics([["a"]], [{"a"}], 0)


def test_cross_sell_removes_what_was_bought_before() -> None:
    holdout = Holdout(
        customers=[1, 2],
        truth=[frozenset({"tea", "cup"}), frozenset({"tea"})],
        seen=[frozenset({"tea"}), frozenset({"tea"})],
    )
    got = holdout_metrics(holdout, [["tea", "cup"], ["tea", "cup"]], [["tea", "cup"], ["cup"]], 2)
    assert got["all"]["hit_rate"] == 1.0
    assert got["all"]["precision"] == pytest.approx((2 / 2 + 1 / 2) / 2)
    # Customer 2 only re-bought: not a cross-sell case. Customer 1: "cup" at rank 1.
    assert got["cross_sell"]["n_customers"] == 1.0
    assert got["cross_sell"]["ndcg"] == 1.0
    assert got["cross_sell"]["precision"] == 0.5


def test_split_and_holdout(retail_lines: pa.Table) -> None:
    train, test = split_at(retail_lines, dt.date(2010, 10, 26))
    assert train.num_rows + test.num_rows < retail_lines.num_rows  # returns left out
    holdout = make_holdout(train, test)
    assert 100 <= len(holdout.customers) <= 120
    assert all(holdout.truth)
    assert all(holdout.seen)
    with pytest.raises(InvalidDataError, match="Pick a date inside"):
        split_at(retail_lines, dt.date(2030, 1, 1))


def test_evaluate_recommenders_on_the_slice(retail_lines: pa.Table) -> None:
    train, test = split_at(retail_lines, dt.datetime(2010, 10, 26, tzinfo=dt.UTC))
    result = evaluate_recommenders(train, test, k=10)
    assert result["k"] == 10
    assert set(result["models"]) == {
        "popularity",
        "kehu_buy_again",
        "kehu_item_item",
        "kehu_blend",
    }
    for entry in result["models"].values():
        for variant in ("all", "cross_sell"):
            metrics = entry[variant]
            assert 0.0 <= metrics["ndcg"] <= 1.0
            assert metrics["precision"] <= metrics["hit_rate"]
        assert entry["fit_seconds"] >= 0
    models = result["models"]
    # Repeat buying is strong in retail: buy-again beats the popular items on all items.
    assert models["kehu_buy_again"]["all"]["ndcg"] > models["popularity"]["all"]["ndcg"]
    assert models["kehu_blend"]["all"]["ndcg"] > models["popularity"]["all"]["ndcg"]
    assert result["n_cross_sell_customers"] <= result["n_customers"]
    ratios = result["ratios"]
    assert ratios["all_items_ndcg_blend_over_buy_again"] == pytest.approx(
        models["kehu_blend"]["all"]["ndcg"] / models["kehu_buy_again"]["all"]["ndcg"]
    )
    assert ratios["cross_sell_ndcg_blend_over_popularity"] == pytest.approx(
        models["kehu_blend"]["cross_sell"]["ndcg"] / models["popularity"]["cross_sell"]["ndcg"]
    )


def test_ndcg_ratios_name_what_is_missing_or_zero() -> None:
    def entry(all_ndcg: float, cross_ndcg: float) -> dict[str, dict[str, float]]:
        return {"all": {"ndcg": all_ndcg}, "cross_sell": {"ndcg": cross_ndcg}}

    ratios = ndcg_ratios(
        {
            "kehu_blend": entry(0.46, 0.1),
            "kehu_buy_again": entry(0.4, 0.0),
            "popularity": entry(0.1, 0.0),
        }
    )
    assert ratios["all_items_ndcg_blend_over_buy_again"] == pytest.approx(1.15)
    assert ratios["cross_sell_ndcg_blend_over_popularity"] is None  # popularity at 0
    assert ndcg_ratios({"kehu_blend": entry(0.4, 0.1)}) == {
        "all_items_ndcg_blend_over_buy_again": None,
        "cross_sell_ndcg_blend_over_popularity": None,
    }


def test_evaluate_uses_the_tuned_buy_again_baseline() -> None:
    # `kehu recommend evaluate` measures "blend over buy-again alone" against the same
    # buy-again as benchmarks/recs/quality.py: tuned on its own, not the blend's part.
    from kehu.analytics.recommend._evaluation import BUY_AGAIN_SETTINGS, default_models

    model = default_models()["kehu_buy_again"]()
    assert isinstance(model, BuyAgainRecommender)
    params = model.get_params()
    assert {name: params[name] for name in BUY_AGAIN_SETTINGS} == dict(BUY_AGAIN_SETTINGS)
    assert dict(BUY_AGAIN_SETTINGS) != {
        name: Recommender().get_params()[name] for name in BUY_AGAIN_SETTINGS
    }
