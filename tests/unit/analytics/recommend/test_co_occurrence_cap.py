"""``max_customer_items``: only each customer's most recent items enter also-bought."""

import numpy as np
import pyarrow as pa

from kehu.analytics.recommend import Recommender


def test_one_item_per_customer_leaves_no_co_occurrence(toy_lines: pa.Table) -> None:
    full = Recommender(max_customer_items=None).fit(toy_lines)
    capped = Recommender(max_customer_items=1).fit(toy_lines)
    assert len(full.also_score_) > 0
    assert len(capped.also_score_) == 0  # a basket of one pairs with nothing
    # The orders' model and the customer's own history are untouched.
    np.testing.assert_array_equal(capped.together_score_, full.together_score_)
    np.testing.assert_array_equal(capped.history_buy_again_, full.history_buy_again_)


def test_the_cap_keeps_the_most_recent_items(toy_lines: pa.Table) -> None:
    # Two items per customer. Customer 2 bought cup, saucer and tea in one order (same day:
    # the lower item codes stay), customer 3 tea and a saucer on day 20, a kettle on day 40
    # (kettle and saucer stay): tea and saucer, together only at customers 2 and 3, part.
    params = {"weighting": "cosine", "similarity_half_life_days": None}
    capped = Recommender(max_customer_items=2, **params).fit(toy_lines)
    full = Recommender(max_customer_items=None, **params).fit(toy_lines)

    def pairs(model: Recommender) -> set[tuple[str, str]]:
        names = model.item_ids_.tolist()
        rows = np.repeat(np.arange(len(names)), np.diff(model.also_indptr_))
        return {(names[r], names[c]) for r, c in zip(rows, model.also_items_, strict=True)}

    assert pairs(full) - pairs(capped) == {("saucer", "tea"), ("tea", "saucer")}
    assert ("kettle", "saucer") in pairs(capped)  # customer 3's two most recent
    assert ("kettle", "tea") in pairs(capped)  # customer 5 bought only these two


def test_serving_defaults_cap_wholesalers(retail_lines: pa.Table) -> None:
    model = Recommender().fit(retail_lines)
    assert model.get_params()["max_customer_items"] == 150
    uncapped = Recommender(max_customer_items=None).fit(retail_lines)
    assert len(model.also_score_) <= len(uncapped.also_score_)
