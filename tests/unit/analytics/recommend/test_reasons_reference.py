"""The fast reasons of ``recommend`` equal a plain, slow restatement of what they mean.

The reference below recomputes every customer's parts and explains each recommended item
item by item, seed by seed (the straightforward algorithm the vectorised one replaced), on
real Online Retail II histories: same items, kinds, source items, dates, order and weights.
"""

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from kehu.analytics.recommend import AlsoBoughtRecommender, Reason, Recommendation, Recommender
from kehu.analytics.recommend._model import REASON_KINDS

EPOCH = dt.date(1970, 1, 1)


def _scaled(values: np.ndarray) -> np.ndarray:
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else values


def _reference(
    model: Recommender, customer_id: Any, k: int, chosen: list[str]
) -> tuple[list[float], list[Recommendation]]:
    """Score every item for one customer, one loop at a time.

    Returns the ``k`` best scores (the ranking) and the explanation of the ``chosen`` items
    (what the fast path picked: items tied at the k-th place may come in either order).
    """
    customer = int(np.searchsorted(model.customer_ids_, customer_id))
    n_items = len(model.item_ids_)
    start, end = model.history_indptr_[customer], model.history_indptr_[customer + 1]
    history = model.history_items_[start:end]
    last_day = dict(zip(history.tolist(), model.history_last_day_[start:end].tolist(), strict=True))
    seed_weight = dict(
        zip(history.tolist(), model.history_weight_[start:end].tolist(), strict=True)
    )
    buy_again = np.zeros(n_items)
    buy_again[history] = model.history_buy_again_[start:end]
    seeds = [i for i in history.tolist() if seed_weight[i] > 0]
    weights = np.asarray([seed_weight[i] for i in seeds])
    matrices, totals = {}, {}
    for kind, indptr, items, scores in (
        ("also_bought", model.also_indptr_, model.also_items_, model.also_score_),
        ("bought_together", model.together_indptr_, model.together_items_, model.together_score_),
    ):
        matrix = sp.csr_matrix((scores, items, indptr), shape=(n_items, n_items))
        matrices[kind] = matrix
        totals[kind] = (weights @ matrix[seeds].toarray() if seeds else 0.0) * model.item_boost_
    share = model._blend_share(customer)
    ba, al, to, pop = model._blend(
        _scaled(buy_again),
        _scaled(totals["also_bought"]),
        _scaled(totals["bought_together"]),
        np.float64(share),
    )
    score = ba + al + to + pop
    ranked = score + 1e-9 * model.item_popularity_
    masked = set(np.flatnonzero(model.blocked_).tolist())
    masked |= {i for i in history.tolist() if model.durable_[i]}
    best = sorted((float(ranked[i]) for i in range(n_items) if i not in masked), reverse=True)
    names = [str(x) for x in model.item_ids_.tolist()]
    code = {name: i for i, name in enumerate(names)}

    def on(item: int) -> dt.date:
        return EPOCH + dt.timedelta(days=int(np.floor(last_day[item])))

    out = []
    for item in (code[c] for c in chosen):
        total = float(score[item])
        reasons = []
        if total > 0:
            if ba[item] > 0:
                reasons.append(Reason("bought_before", names[item], on(item), ba[item] / total))
            for kind, part in (("also_bought", al[item]), ("bought_together", to[item])):
                if part <= 0:
                    continue
                # In history order (item codes), the order the seeds' ties are broken in.
                column = matrices[kind][seeds, item].toarray().ravel() * weights
                amounts = list(zip(seeds, column.tolist(), strict=True))
                whole = sum(a for _, a in amounts)
                strongest = sorted(amounts, key=lambda sa: -sa[1])[:2]
                for seed, amount in strongest:
                    if amount > 0:
                        reasons.append(
                            Reason(kind, names[seed], on(seed), amount * part / total / whole)
                        )
            if pop[item] > 0:
                reasons.append(Reason("popular", None, None, pop[item] / total))
        reasons.sort(key=lambda r: (-r.weight, REASON_KINDS.index(r.kind)))
        kept = [r for r in reasons if r.weight >= 0.02] or reasons[:1]
        out.append(
            Recommendation(names[item], total, tuple(kept or [Reason("popular", None, None, 1.0)]))
        )
    return best[:k], out


def _same(model: Recommender, customer_id: Any, fast: list[Recommendation]) -> None:
    best, slow = _reference(model, customer_id, 10, [r.item_id for r in fast])
    ranked = [r.score + 1e-9 * model.item_popularity_[model._items()[r.item_id]] for r in fast]
    assert ranked == pytest.approx(best, rel=1e-12, abs=1e-15)
    for f, s in zip(fast, slow, strict=True):
        assert f.score == pytest.approx(s.score, rel=1e-9)
        assert [(r.kind, r.item_id, r.at) for r in f.reasons] == [
            (r.kind, r.item_id, r.at) for r in s.reasons
        ]
        assert [r.weight for r in f.reasons] == pytest.approx(
            [r.weight for r in s.reasons], rel=1e-9
        )


@pytest.mark.parametrize("model_class", [Recommender, AlsoBoughtRecommender])
def test_recommend_explains_exactly_like_the_slow_reference(
    model_class: type[Recommender], retail_lines: pa.Table
) -> None:
    model = model_class(durable_items=["22423", "85123A"], out_of_stock=["84879"]).fit(retail_lines)
    n_reasons = 0
    customers = model.customer_ids_.tolist()[::3]  # 67 of the 200 (time)
    for customer_id in customers:
        fast = model.recommend(customer_id, k=10)
        _same(model, customer_id, fast)
        n_reasons += sum(len(r.reasons) for r in fast)
    kinds = {
        r.kind
        for c in model.customer_ids_.tolist()[:50]
        for x in model.recommend(c)
        for r in x.reasons
    }
    assert {"also_bought", "bought_together"} <= kinds  # the seeds' part is exercised
    assert n_reasons > 2 * 10 * len(customers)


def test_batch_reasons_equal_single_reasons(retail_lines: pa.Table) -> None:
    model = Recommender().fit(retail_lines)
    customers = model.customer_ids_.tolist()[1::5]
    batch = model.recommend_many(customers, k=10)
    for customer_id in customers:
        _same(model, customer_id, batch[customer_id])
