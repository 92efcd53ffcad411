"""Validation-only experiments for issue 4's all-items goal (blend >= 1.15x buy-again).

Run: .venv/bin/python benchmarks/recs/rerank_experiment.py

Nothing here looks at the test period. Two families of candidates, each measured on the
validation period of ``quality.py`` (training on what precedes it):

- a learned re-ranker (Instacart style) over candidates = the customer's history items and
  the blend's best new items, with features per (customer, item), trained on a pseudo period
  cut from the end of the training data (labels = what was bought in it, features from before
  it), then applied to the validation period with features from all the training data;
- cheap multipliers in the blend's buy-again part (item repurchase probability, the customer's
  orders since the item was last bought, ...), as one-parameter families.

Prints every candidate's all-items and cross-sell NDCG@10 and writes them to
``benchmarks/recs/results/rerank-<time>.json``.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import scipy.sparse as sp  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

from quality import DATA, RESULTS, K, load_clean, periods  # noqa: E402

from kehu.analytics.recommend import (  # noqa: E402
    BuyAgainRecommender,
    Holdout,
    Recommender,
    holdout_metrics,
    make_holdout,
    split_at,
)
from kehu.analytics.recommend._evaluation import BUY_AGAIN_SETTINGS, rank_with  # noqa: E402
from kehu.analytics.recommend._model import _gather, _scaled_rows  # noqa: E402

PSEUDO_DAYS = 45.0  # the validation period is 44.8 days long
NEW_CANDIDATES = 30
EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


# ------------------------------------------------------------------ blend parts


def blend_parts(model: Recommender, customers: list[Any]) -> dict[str, np.ndarray]:
    """Dense (customer x item) parts of a fitted blend, as ``Recommender.rank`` sums them."""
    codes = np.asarray([model._customer_code(c) for c in customers], dtype=np.int64)
    n_items = len(model.item_ids_)
    also, together = model._matrices()
    positions, owner = _gather(model.history_indptr_, codes)
    items = model.history_items_[positions]
    shape = (len(codes), n_items)
    buy_again = sp.csr_matrix(
        (model.history_buy_again_[positions], (owner, items)), shape=shape
    ).toarray()
    seeds = sp.csr_matrix((model.history_weight_[positions], (owner, items)), shape=shape)
    also_scores = (seeds @ also).toarray() * model.item_boost_
    together_scores = (seeds @ together).toarray() * model.item_boost_
    share = np.asarray([model._blend_share(int(c)) for c in codes])[:, None]
    ba, al, to, pop = model._blend(
        _scaled_rows(buy_again),
        _scaled_rows(also_scores),
        _scaled_rows(together_scores),
        share,
    )
    seen = np.zeros(shape, dtype=bool)
    seen[owner, items] = True
    return {"ba": ba, "al": al, "to": to, "pop": np.asarray(pop), "seen": seen, "share": share}


def ranked_from_scores(
    score: np.ndarray, item_ids: np.ndarray, seen: np.ndarray, exclude_seen: bool
) -> list[list[str]]:
    score = score + 1e-12 * np.arange(score.shape[1])[::-1]  # stable ties: lower code first
    if exclude_seen:
        score = np.where(seen, -np.inf, score)
    top = np.argpartition(-score, K - 1, axis=1)[:, :K]
    order = np.argsort(-np.take_along_axis(score, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    return [[str(item_ids[i]) for i in row] for row in top]


# ------------------------------------------------------------------ features


def as_frame(lines: pa.Table) -> pd.DataFrame:
    df = pa.table(
        {
            "customer_id": lines["customer_id"],
            "order_id": lines["order_id"],
            "item_id": pc.cast(lines["item_id"], pa.string()),
            "timestamp": lines["timestamp"],
            "quantity": lines["quantity"],
        }
    ).to_pandas()
    df["day"] = (df["timestamp"] - EPOCH).dt.total_seconds() / 86400.0
    return df


def features(df: pd.DataFrame, ref: float, xmas: set[str]) -> pd.DataFrame:
    """Per (customer, item) bought in ``df``: history features, as of day ``ref``."""
    orders = df.groupby(["customer_id", "order_id"], sort=False)["day"].min().reset_index()
    orders = orders.sort_values(["customer_id", "day", "order_id"])
    orders["ordinal"] = orders.groupby("customer_id").cumcount()
    cust = orders.groupby("customer_id").agg(
        c_orders=("ordinal", "size"), c_first=("day", "min"), c_last=("day", "max")
    )
    cust["c_orders_90"] = (
        orders[orders["day"] > ref - 90].groupby("customer_id").size().reindex(cust.index)
    ).fillna(0)
    lines = (
        df.groupby(["customer_id", "order_id", "item_id"], sort=False)
        .agg(day=("day", "min"), quantity=("quantity", "sum"))
        .reset_index()
        .merge(orders[["customer_id", "order_id", "ordinal"]], on=["customer_id", "order_id"])
    )
    age = ref - lines["day"]
    for hl in (14, 60, 180):
        lines[f"d{hl}"] = np.exp2(-age / hl)
    lines["in45"] = age <= 45
    lines["in90"] = age <= 90
    pair = (
        lines.groupby(["customer_id", "item_id"])
        .agg(
            n=("order_id", "size"),
            first=("day", "min"),
            last=("day", "max"),
            last_ordinal=("ordinal", "max"),
            qty=("quantity", "sum"),
            d14=("d14", "sum"),
            d60=("d60", "sum"),
            d180=("d180", "sum"),
            n45=("in45", "sum"),
            n90=("in90", "sum"),
        )
        .reset_index()
    )
    pair = pair.merge(cust, left_on="customer_id", right_index=True)
    pair["since_last"] = ref - pair["last"]
    pair["since_first"] = ref - pair["first"]
    pair["orders_since"] = pair["c_orders"] - 1 - pair["last_ordinal"]
    pair["interval"] = np.where(
        pair["n"] > 1, (pair["last"] - pair["first"]) / (pair["n"] - 1).clip(lower=1), np.nan
    )
    pair["due"] = pair["since_last"] / pair["interval"]
    pair["share_orders"] = pair["n"] / pair["c_orders"]
    pair["qty_per_order"] = pair["qty"] / pair["n"]
    cust_pairs = pair.groupby("customer_id").agg(
        c_items=("n", "size"), c_repeat=("n", lambda s: float((s > 1).mean()))
    )
    pair = pair.merge(cust_pairs, left_on="customer_id", right_index=True)
    pair["c_since_last"] = ref - pair["c_last"]
    pair["c_tenure"] = ref - pair["c_first"]
    # Item level: buyers, repurchase rate (all time, and "recent": of those who bought it
    # 45-135 days ago, the share who bought it again in the last 45 days), popularity, trend.
    item = pair.groupby("item_id").agg(
        i_buyers=("n", "size"),
        i_repeat=("n", lambda s: float((s > 1).sum())),
        i_buyers_30=("since_last", lambda s: float((s <= 30).sum())),
    )
    overall = item["i_repeat"].sum() / item["i_buyers"].sum()
    item["i_repeat"] = (item["i_repeat"] + 5 * overall) / (item["i_buyers"] + 5)
    earlier = lines[(age > 45) & (age <= 135)][["customer_id", "item_id"]].drop_duplicates()
    recent = lines[age <= 45][["customer_id", "item_id"]].drop_duplicates()
    recent["again"] = 1.0
    earlier = earlier.merge(recent, how="left").fillna({"again": 0.0})
    rec = earlier.groupby("item_id")["again"].agg(["sum", "size"])
    rate = rec["sum"].sum() / max(rec["size"].sum(), 1)
    item["i_recent_repeat"] = ((rec["sum"] + 5 * rate) / (rec["size"] + 5)).reindex(item.index)
    item["i_recent_repeat"] = item["i_recent_repeat"].fillna(rate)
    item["i_trend"] = (item["i_buyers_30"] + 1) / (item["i_buyers"] + 10)
    item["i_xmas"] = item.index.isin(xmas).astype(float)
    pair = pair.merge(item, left_on="item_id", right_index=True)
    return add_hazard(pair, lines)


def _survival(gaps: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(gap > x) under the empirical distribution of sorted ``gaps``."""
    return 1.0 - np.searchsorted(gaps, x, side="right") / max(len(gaps), 1)


def add_hazard(pair: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Chance of a re-purchase within ``PSEUDO_DAYS`` given none for ``since_last`` days.

    From the gaps between a customer's consecutive orders of the same item: all items
    pooled (``haz_global``) and per item, shrunk to the pooled one by 10 gaps (``haz_item``).
    """
    days = lines[["customer_id", "item_id", "day"]].sort_values(["customer_id", "item_id", "day"])
    days["gap"] = days.groupby(["customer_id", "item_id"])["day"].diff()
    gaps = days.dropna(subset=["gap"])[["item_id", "gap"]]
    pooled = np.sort(gaps["gap"].to_numpy())
    s = pair["since_last"].to_numpy(float)

    def hazard(sorted_gaps: np.ndarray, x: np.ndarray) -> np.ndarray:
        alive = _survival(sorted_gaps, x)
        gone = alive - _survival(sorted_gaps, x + PSEUDO_DAYS)
        return np.where(alive > 0, gone / np.maximum(alive, 1e-12), 0.0)

    pair["haz_global"] = hazard(pooled, s)
    haz_item = pair["haz_global"].to_numpy().copy()
    n_gaps = np.zeros(len(pair))
    median_gap = np.full(len(pair), np.nan)
    where = pair.groupby("item_id").indices
    for item_id, item_gaps in gaps.groupby("item_id")["gap"]:
        rows = where.get(item_id)
        if rows is None:
            continue
        g = np.sort(item_gaps.to_numpy())
        weight = len(g) * _survival(g, s[rows])
        weight = weight / (weight + 10.0)
        haz_item[rows] = weight * hazard(g, s[rows]) + (1 - weight) * haz_item[rows]
        n_gaps[rows] = len(g)
        median_gap[rows] = np.median(g)
    pair["haz_item"] = haz_item
    pair["n_gaps"] = n_gaps
    pair["i_median_gap"] = median_gap
    return pair


FEATURES = [
    "n",
    "since_last",
    "since_first",
    "orders_since",
    "interval",
    "due",
    "share_orders",
    "qty",
    "qty_per_order",
    "d14",
    "d60",
    "d180",
    "n45",
    "n90",
    "c_orders",
    "c_orders_90",
    "c_items",
    "c_repeat",
    "c_since_last",
    "c_tenure",
    "i_buyers",
    "i_repeat",
    "i_buyers_30",
    "i_recent_repeat",
    "i_trend",
    "i_xmas",
    "haz_global",
    "haz_item",
    "n_gaps",
    "i_median_gap",
]
#: Features added by this session (the rest were tried before, see README.md).
NEW_FEATURES = [
    "orders_since",
    "i_recent_repeat",
    "i_xmas",
    "haz_global",
    "haz_item",
    "n_gaps",
    "i_median_gap",
]
BLEND_FEATURES = ["blend", "ba", "al", "to", "pop", "blend_rank", "is_seen"]


def candidates(
    model: Recommender, hist: pd.DataFrame, customers: list[Any]
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """History items and the blend's best new items, with the blend's scores."""
    parts = blend_parts(model, customers)
    score = parts["ba"] + parts["al"] + parts["to"] + parts["pop"]
    new = np.where(parts["seen"], -np.inf, score)
    top_new = np.argpartition(-new, NEW_CANDIDATES, axis=1)[:, :NEW_CANDIDATES]
    rows, cols = np.nonzero(parts["seen"])
    rows = np.concatenate([rows, np.repeat(np.arange(len(customers)), NEW_CANDIDATES)])
    cols = np.concatenate([cols, top_new.ravel()])
    rank = (-score).argsort(axis=1).argsort(axis=1)
    cand = pd.DataFrame(
        {
            "row": rows,
            "col": cols,
            "customer_id": np.asarray(customers, dtype=object)[rows],
            "item_id": model.item_ids_[cols].astype(str),
            "blend": score[rows, cols],
            "ba": parts["ba"][rows, cols],
            "al": parts["al"][rows, cols],
            "to": parts["to"][rows, cols],
            "pop": parts["pop"][rows, cols],
            "blend_rank": rank[rows, cols].astype(float),
            "is_seen": parts["seen"][rows, cols].astype(float),
        }
    )
    cand["customer_id"] = cand["customer_id"].astype(hist["customer_id"].dtype)
    cand = cand.merge(hist, on=["customer_id", "item_id"], how="left")
    return cand, {"score": score, "seen": parts["seen"]}


def period_table(train: pa.Table, evaluated: pa.Table, xmas: set[str]) -> dict[str, Any]:
    holdout = make_holdout(train, evaluated)
    model = Recommender().fit(train)
    df = as_frame(train)
    hist = features(df, float(df["day"].max()), xmas)
    cand, dense = candidates(model, hist, holdout.customers)
    truth = set()
    for c, items in zip(holdout.customers, holdout.truth, strict=True):
        truth.update((c, i) for i in items)
    cand["y"] = [
        (c, i) in truth
        for c, i in zip(cand["customer_id"].tolist(), cand["item_id"].tolist(), strict=True)
    ]
    return {"holdout": holdout, "model": model, "cand": cand, "dense": dense}


def metrics_from_candidates(
    table: dict[str, Any], values: np.ndarray
) -> dict[str, dict[str, float]]:
    """Rank each customer's candidates by ``values`` (others below, by the blend)."""
    dense = table["dense"]
    score = dense["score"].copy() - 1e6  # non-candidates keep the blend's order, below
    cand = table["cand"]
    score[cand["row"].to_numpy(), cand["col"].to_numpy()] = values
    model = table["model"]
    ranked_all = ranked_from_scores(score, model.item_ids_, dense["seen"], False)
    ranked_cross = ranked_from_scores(score, model.item_ids_, dense["seen"], True)
    return holdout_metrics(table["holdout"], ranked_all, ranked_cross, K)


def short(m: dict[str, dict[str, float]]) -> dict[str, float]:
    return {"all": round(m["all"]["ndcg"], 4), "cross": round(m["cross_sell"]["ndcg"], 4)}


# ------------------------------------------------------------------ main


def _pseudo_trained(ps: dict[str, Any], val: dict[str, Any]) -> dict[str, Any]:
    """Re-rankers trained on the pseudo period, measured on validation."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    results: dict[str, Any] = {}
    old = [f for f in FEATURES if f not in NEW_FEATURES]
    feature_sets = {
        "blend+history": BLEND_FEATURES + FEATURES,
        "blend+history, without this session's features": BLEND_FEATURES + old,
        "history only": [*FEATURES, "is_seen", "al", "to", "pop"],
    }
    y = ps["cand"]["y"].to_numpy()
    for name, cols in feature_sets.items():
        for depth, lr, iters in ((None, 0.05, 300), (6, 0.05, 200), (3, 0.1, 200)):
            t0 = time.perf_counter()
            clf = HistGradientBoostingClassifier(
                max_depth=depth,
                learning_rate=lr,
                max_iter=iters,
                random_state=0,
                min_samples_leaf=100,
            )
            clf.fit(ps["cand"][cols].to_numpy(float), y)
            fit_s = time.perf_counter() - t0
            p = clf.predict_proba(val["cand"][cols].to_numpy(float))[:, 1]
            key = f"hgb pseudo-trained, {name}, depth={depth} lr={lr} iters={iters}"
            results[key] = short(metrics_from_candidates(val, p)) | {"fit_s": round(fit_s, 1)}
            print(key, results[key], file=sys.stderr, flush=True)
            if name == "blend+history" and depth == 3:
                # Rank average with the blend, within each customer's candidates.
                row = val["cand"]["row"].to_numpy()
                mine = pd.Series(p).groupby(row).rank(pct=True).to_numpy()
                blend = val["cand"]["blend"].to_numpy()
                theirs = pd.Series(blend).groupby(row).rank(pct=True).to_numpy()
                for w in (0.25, 0.5, 0.75):
                    key = f"rank average: {w} x that re-ranker + {1 - w} x blend"
                    mixed = w * mine + (1 - w) * theirs
                    results[key] = short(metrics_from_candidates(val, mixed))
                    print(key, results[key], file=sys.stderr, flush=True)

    def logx(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
        x = frame[cols].to_numpy(float)
        x = np.where(np.isfinite(x), x, -1.0)
        return np.asarray(np.sign(x) * np.log1p(np.abs(x)))

    cols = BLEND_FEATURES + FEATURES
    x_ps = logx(ps["cand"], cols)
    mu, sd = x_ps.mean(0), x_ps.std(0) + 1e-9
    for c_reg in (0.1, 1.0):
        clf = LogisticRegression(C=c_reg, max_iter=3000)
        clf.fit((x_ps - mu) / sd, y)
        p = clf.decision_function((logx(val["cand"], cols) - mu) / sd)
        key = f"logreg pseudo-trained, log features, C={c_reg}"
        results[key] = short(metrics_from_candidates(val, p))
        print(key, results[key], file=sys.stderr, flush=True)
    return results


def _validation_bound(val: dict[str, Any]) -> dict[str, Any]:
    """Optimistic bound: re-rankers cross-validated over customers ON the validation period.

    Trained on the evaluated period's own labels (other customers'), so no seasonal shift:
    not a usable model, only how far these features could take a re-ranker at best.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    cand = val["cand"]
    y = cand["y"].to_numpy()
    results: dict[str, Any] = {}
    old = [f for f in FEATURES if f not in NEW_FEATURES]
    for name, cols, kw in (
        ("without this session's features, depth=3", BLEND_FEATURES + old, {"max_depth": 3}),
        ("all features, depth=3", BLEND_FEATURES + FEATURES, {"max_depth": 3}),
        (
            "all features, depth=None lr=0.05 iters=400 leaf=50",
            BLEND_FEATURES + FEATURES,
            {"learning_rate": 0.05, "max_iter": 400, "min_samples_leaf": 50},
        ),
    ):
        params = {"learning_rate": 0.1, "max_iter": 200, "min_samples_leaf": 100} | kw
        x = cand[cols].to_numpy(float)
        p = np.zeros(len(cand))
        for fit_rows, score_rows in GroupKFold(5).split(x, y, cand["row"]):
            clf = HistGradientBoostingClassifier(random_state=0, **params)
            clf.fit(x[fit_rows], y[fit_rows])
            p[score_rows] = clf.predict_proba(x[score_rows])[:, 1]
        key = f"BOUND hgb 5-fold over customers on validation, {name}"
        results[key] = short(metrics_from_candidates(val, p))
        print(key, results[key], file=sys.stderr, flush=True)
    return results


def _multipliers(val: dict[str, Any]) -> dict[str, Any]:
    """The blend with its buy-again part reshaped (each part is rescaled to its maximum)."""
    cand = val["cand"]
    row = cand["row"].to_numpy()
    ba, al, to, pop = (cand[k].to_numpy() for k in ("ba", "al", "to", "pop"))
    share = pd.Series(ba).groupby(row).transform("max").to_numpy()
    safe = np.where(share > 0, share, 1.0)

    def rescaled(x: np.ndarray) -> np.ndarray:
        top = pd.Series(x).groupby(row).transform("max").to_numpy()
        return np.where(top > 0, x / np.where(top > 0, top, 1.0) * share, 0.0)

    results: dict[str, Any] = {}

    def note(key: str, buy_again: np.ndarray) -> None:
        results[key] = short(metrics_from_candidates(val, buy_again + al + to + pop))
        print(key, results[key], file=sys.stderr, flush=True)

    for g in (0.5, 0.75, 1.5):
        note(f"buy-again part ^{g}", np.where(share > 0, (ba / safe) ** g * share, 0.0))
    for kappa in (0.3, 1.0):
        x = ba / safe
        note(f"buy-again part saturating x/(x+{kappa})", rescaled(x / (x + kappa)))
    for column in ("i_repeat", "i_recent_repeat", "haz_item", "orders_since", "due"):
        v = cand[column].to_numpy(float)
        for power in (-0.5, -0.25, 0.25, 0.5):
            if column == "orders_since":
                m = (1.0 + np.nan_to_num(v)) ** power
            elif column == "due":
                m = (1.0 + np.clip(np.nan_to_num(v, nan=1.0, posinf=10.0), 0, 10)) ** power
            else:
                m = np.maximum(np.nan_to_num(v, nan=1.0), 1e-3) ** power
            note(f"buy-again part x {column}^{power}", rescaled(ba * m))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, help="pickle of the candidate tables (reused)")
    args = parser.parse_args()
    started = time.perf_counter()
    lines = load_clean(args.data)
    raw = pq.read_table(args.data, columns=["StockCode", "Description"]).to_pandas()
    words = "CHRISTMAS|XMAS|ADVENT|SANTA|REINDEER|SNOWFLAKE|NATIVITY|BAUBLE"
    marked = raw["Description"].fillna("").str.upper().str.contains(words)
    xmas = set(raw.loc[marked, "StockCode"])
    validation_from, test_from = periods(lines)
    development, _ = split_at(lines, test_from)  # the test period is not used below
    train, validation = split_at(development, validation_from)
    pseudo_from = validation_from - timedelta(days=PSEUDO_DAYS)
    pseudo_train, pseudo = split_at(train, pseudo_from)
    out: dict[str, Any] = {
        "validation_from": str(validation_from),
        "pseudo_from": str(pseudo_from),
    }

    ba_model = BuyAgainRecommender(**BUY_AGAIN_SETTINGS).fit(train)
    val_holdout: Holdout = make_holdout(train, validation)
    base = holdout_metrics(
        val_holdout,
        rank_with(ba_model, val_holdout, K, exclude_seen=False),
        rank_with(ba_model, val_holdout, K, exclude_seen=True),
        K,
    )
    out["buy_again"] = short(base)
    print("buy-again", out["buy_again"], file=sys.stderr)

    if args.cache is not None and args.cache.exists():
        val, ps = pickle.loads(args.cache.read_bytes())  # noqa: S301  # our own file
    else:
        val = period_table(train, validation, xmas)
        ps = period_table(pseudo_train, pseudo, xmas)
        if args.cache is not None:
            args.cache.write_bytes(pickle.dumps((val, ps)))
    print(f"tables ready {time.perf_counter() - started:.0f}s", file=sys.stderr)
    out["blend"] = short(metrics_from_candidates(val, val["cand"]["blend"].to_numpy()))
    print("blend", out["blend"], file=sys.stderr)
    out["candidates"] = {"validation": len(val["cand"]), "pseudo": len(ps["cand"])}
    out["goal_all_items_ndcg"] = round(1.15 * out["buy_again"]["all"], 4)
    results: dict[str, Any] = {}
    results |= _pseudo_trained(ps, val)
    results |= _validation_bound(val)
    results |= _multipliers(val)
    out["results"] = results
    out["seconds"] = time.perf_counter() - started
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / f"rerank-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    target.write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
