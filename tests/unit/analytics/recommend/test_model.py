"""The recommenders: estimator contract, reasons, exclusions, bad input, batch = single."""

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from kehu.analytics import InvalidDataError
from kehu.analytics.persistence import ModelMismatchError, load_model, save_model
from kehu.analytics.recommend import (
    AlsoBoughtRecommender,
    BuyAgainRecommender,
    Reason,
    Recommendation,
    Recommender,
)

MODELS = [Recommender, BuyAgainRecommender, AlsoBoughtRecommender]


def _ids(recs: list[Recommendation]) -> list[str]:
    return [r.item_id for r in recs]


@pytest.mark.parametrize("model_class", MODELS)
def test_estimator_contract(model_class: type, retail_lines: pa.Table, tmp_path: Path) -> None:
    model = model_class(weighting="jaccard", neighbours=30, out_of_stock=["22423"])
    params = model.get_params()
    assert params["weighting"] == "jaccard"
    assert params["neighbours"] == 30
    assert params["out_of_stock"] == ["22423"]
    twin = clone(model)
    assert twin.get_params() == params
    assert twin.set_params(neighbours=40) is twin
    assert twin.neighbours == 40
    with pytest.raises(TypeError):
        model_class("bm25")  # keyword-only hyperparameters
    customer = 12682
    with pytest.raises(NotFittedError):
        model.recommend(customer)

    assert model.fit(retail_lines) is model
    first = model.recommend(customer, k=10)
    first_arrays = {k: v.copy() for k, v in vars(model).items() if isinstance(v, np.ndarray)}
    model.fit(retail_lines)  # fitting twice equals fitting once
    for key, value in first_arrays.items():
        np.testing.assert_array_equal(getattr(model, key), value, err_msg=key)
    assert model.recommend(customer, k=10) == first
    assert not hasattr(clone(model), "item_ids_")

    folder = save_model(model, tmp_path / "m", data_fingerprint="slice")
    assert not list(tmp_path.glob("**/*.pkl"))
    loaded = load_model(
        folder, expected=model_class(weighting="jaccard", neighbours=30, out_of_stock=["22423"])
    )
    assert loaded.get_params() == model.get_params()  # every __init__ parameter round-trips
    assert loaded.recommend(customer, k=10) == first
    with pytest.raises(ModelMismatchError):
        load_model(folder, expected=model_class(neighbours=31))


def test_bad_hyperparameter_is_refused_at_fit(toy_lines: pa.Table) -> None:
    with pytest.raises(ValueError, match="weighting"):
        Recommender(weighting="euclid").fit(toy_lines)
    with pytest.raises(ValueError, match="half_life_days"):
        Recommender(half_life_days=0).fit(toy_lines)


def test_buy_again_comes_first_with_the_date_it_was_bought(toy_lines: pa.Table) -> None:
    model = Recommender().fit(toy_lines)
    recs = model.recommend(1, k=3)
    assert recs[0].item_id == "tea"
    reason = recs[0].reasons[0]
    assert reason == Reason("bought_before", "tea", dt.date(2024, 3, 1), reason.weight)
    assert 0.5 < reason.weight <= 1.0
    for rec in recs:
        assert rec.reasons, rec
        assert sum(r.weight for r in rec.reasons) <= 1.0 + 1e-9
        assert [r.weight for r in rec.reasons] == sorted(
            (r.weight for r in rec.reasons), reverse=True
        )
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


def test_also_bought_names_what_the_customer_bought(toy_lines: pa.Table) -> None:
    model = AlsoBoughtRecommender().fit(toy_lines)
    recs = model.recommend(4, k=5, exclude=("cup", "saucer"))
    assert recs[0].item_id == "tea"  # bought with cups and saucers by customers 1, 2, 3
    kinds = {r.kind for r in recs[0].reasons}
    assert kinds <= {"also_bought", "bought_together", "popular"}
    pointed = {r.item_id for r in recs[0].reasons if r.kind != "popular"}
    assert pointed
    assert pointed <= {"cup", "saucer"}
    assert all(r.at == dt.date(2024, 2, 20) for r in recs[0].reasons if r.kind != "popular")


def test_unknown_customer_gets_the_popular_items(toy_lines: pa.Table) -> None:
    model = Recommender().fit(toy_lines)
    for unknown in (999, "nobody", None):
        recs = model.recommend(unknown, k=2)
        assert _ids(recs) == ["tea", "kettle"]  # tea: 4 buyers; kettle: 2, the most recent
        assert all(r.reasons == (Reason("popular", None, None, 1.0),) for r in recs)
    assert model.recommend_many([999], k=2)[999] == model.recommend(999, k=2)


def test_exclusions(toy_lines: pa.Table) -> None:
    model = Recommender(out_of_stock=["tea"], durable_items=["kettle"]).fit(toy_lines)
    for customer in (1, 2, 3, 4, 5, 999):
        items = _ids(model.recommend(customer, k=10))
        assert "tea" not in items
        if customer in (3, 5):
            assert "kettle" not in items  # bought once, never needed again
    assert "kettle" in _ids(model.recommend(1, k=10))
    assert "cup" not in _ids(model.recommend(1, k=10, exclude=["cup", "not-an-item"]))
    many = model.recommend_many([1, 3, 4], k=10, exclude_seen=True)
    assert not {"tea", "cup"} & set(_ids(many[1]))
    assert not {"tea", "saucer", "kettle"} & set(_ids(many[3]))


def test_string_customer_ids(toy_lines: pa.Table) -> None:
    lines = toy_lines.set_column(0, "customer_id", toy_lines.column(0).cast(pa.string()))
    model = Recommender().fit(lines)
    assert model.customer_ids_.dtype.kind == "U"
    assert model.recommend("1", k=3) == Recommender().fit(toy_lines).recommend(1, k=3)
    assert model.recommend(1, k=3) == model.recommend("1", k=3)


def test_batch_gives_what_single_calls_give(retail_lines: pa.Table) -> None:
    model = Recommender().fit(retail_lines)
    customers = model.customer_ids_.tolist()
    many = model.recommend_many(customers, k=10)
    for customer in customers:
        single = model.recommend(customer, k=10)
        assert _ids(many[customer]) == _ids(single), customer
        assert [r.score for r in many[customer]] == pytest.approx([r.score for r in single])
        assert many[customer][0].reasons == single[0].reasons
    bare = model.recommend_many(customers[:5], k=10, reasons=False)
    assert all(r.reasons == () for recs in bare.values() for r in recs)


def test_cancellations_are_left_out(retail_lines: pa.Table) -> None:
    model = Recommender().fit(retail_lines)
    orders = set(retail_lines.column("order_id").to_pylist())
    assert any(o.startswith("C") for o in orders)
    assert model.n_lines_ < retail_lines.num_rows


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["item_id"]), "item_id"),
        (lambda t: t.slice(0, 0), "empty"),
        (lambda t: t.set_column(4, "quantity", pa.array([-1.0] * t.num_rows)), "empty"),
        (
            lambda t: t.set_column(
                0, "customer_id", pa.array([None, *t.column(0).to_pylist()[1:]], pa.int64())
            ),
            "customer_id has 1 empty",
        ),
        (
            lambda t: t.set_column(3, "timestamp", pa.array(["yesterday"] * t.num_rows)),
            "not a date",
        ),
        (lambda t: t.set_column(3, "timestamp", pa.array([1.5] * t.num_rows)), "timestamp"),
    ],
)
def test_bad_data_is_refused_clearly(toy_lines: pa.Table, change, message: str) -> None:
    with pytest.raises(InvalidDataError, match=message):
        Recommender().fit(change(toy_lines))


def test_naive_text_and_date_timestamps_are_utc(toy_lines: pa.Table) -> None:
    as_text = toy_lines.set_column(
        3,
        "timestamp",
        pa.array([t.strftime("%Y-%m-%d %H:%M:%S") for t in toy_lines.column(3).to_pylist()]),
    )
    assert Recommender().fit(as_text).recommend(1) == Recommender().fit(toy_lines).recommend(1)
    as_date = toy_lines.set_column(
        3, "timestamp", pa.array([t.date() for t in toy_lines.column(3).to_pylist()])
    )
    assert _ids(Recommender().fit(as_date).recommend(1)) == _ids(
        Recommender().fit(toy_lines).recommend(1)
    )


def test_a_one_item_shop_with_no_repeat_buying(toy_lines: pa.Table) -> None:
    lines = toy_lines.filter(pa.array([item == "tea" for item in toy_lines["item_id"].to_pylist()]))
    lines = lines.filter(pa.array([o in ("o2", "o4") for o in lines["order_id"].to_pylist()]))
    for model_class in MODELS:
        model = model_class().fit(lines)
        assert _ids(model.recommend(1, k=5)) == ["tea"]
        assert model.recommend(2, k=5)[0].reasons[0].kind in ("bought_before", "popular")
        assert model.recommend_many([1, 2], k=3, exclude_seen=True) == {1: [], 2: []}
    assert BuyAgainRecommender().fit(lines).recommend(1)[0].reasons[0].kind == "bought_before"
