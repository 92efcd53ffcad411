"""Buy-again, also-bought and bought-together recommendations, blended per customer."""

import datetime as dt
from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from kehu.analytics._base import FloatArray, IntArray
from kehu.analytics.recommend._data import EncodedLines, date_of, encode_lines
from kehu.analytics.recommend._similarity import WEIGHTINGS, similarity

#: Reason kinds, in the order they are listed when their weights tie.
REASON_KINDS = ("bought_before", "also_bought", "bought_together", "popular")
#: Reasons explaining less than this share of a score are left out (one always stays).
_MIN_REASON_SHARE = 0.02
#: Source items named per also-bought / bought-together reason list.
_MAX_SOURCES = 2
#: Purchases older than this many similarity half-lives leave the co-occurrence counts.
_FORGET = 5.0
#: Customers scored at once by :meth:`Recommender.recommend_many` (bounds its memory).
_CHUNK = 512


@dataclass(frozen=True)
class Reason:
    """Why an item is recommended.

    Attributes
    ----------
    kind
        ``bought_before`` (the customer bought this item), ``also_bought`` (customers who
        bought ``item_id`` also bought this), ``bought_together`` (often in the same order as
        ``item_id``) or ``popular``.
    item_id
        The item the reason points at (what the customer bought); ``None`` for ``popular``.
    at
        When the customer last bought ``item_id`` (UTC date), if applicable.
    weight
        Share of the recommendation's score this reason explains (0 to 1).
    """

    kind: str
    item_id: str | None
    at: dt.date | None
    weight: float


@dataclass(frozen=True)
class Recommendation:
    """One recommended item, its blended score and its reasons (largest share first)."""

    item_id: str
    score: float
    reasons: tuple[Reason, ...]


@dataclass
class _Parts:
    """One customer's component scores over the whole catalogue, before blending."""

    buy_again: FloatArray
    also: FloatArray
    together: FloatArray
    w_buy_again: float
    history: IntArray
    # The purchases that seed also-bought and bought-together, their weights, and the rows
    # of the two similarity matrices for them (to explain a score by its sources).
    seeds: IntArray
    seed_weight: FloatArray
    # (target, seed index, contribution) of the also-bought and bought-together sums; the
    # target is the item code for also-bought, ``n_items`` + the item code for bought-together.
    links: tuple[IntArray, IntArray, FloatArray]


def _gather(indptr: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
    """Positions of all entries of CSR ``rows`` and, for each, which of ``rows`` it is from."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # Few passes over the entries: this runs on every single-customer request.
    owner = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
    shift = starts - (np.cumsum(lengths) - lengths)
    positions = np.arange(total, dtype=np.int64)
    positions += np.repeat(shift, lengths)
    return positions, owner


def _scaled(values: FloatArray) -> FloatArray:
    """``values`` divided by its largest entry (all zeros stay zeros)."""
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else values


def _sources(
    column: IntArray, seed: IntArray, value: FloatArray, n_columns: int
) -> tuple[FloatArray, IntArray, IntArray, FloatArray]:
    """Find the seeds behind each recommended item's also-bought or bought-together score.

    ``column``, ``seed``, ``value``: the contributions (place in the recommendations, seed
    index, amount), seed by seed. Returns each place's total and, for the ``_MAX_SOURCES``
    largest positive contributions per place (ties: the earlier seed), the seed index, the
    place and the contribution, by place.
    """
    sums = np.asarray(np.bincount(column, weights=value, minlength=n_columns), dtype=np.float64)
    order = np.lexsort((seed, -value, column))
    column, seed, value = column[order], seed[order], value[order]
    first = np.searchsorted(column, np.arange(n_columns))
    rank = np.arange(len(column)) - first[column]
    keep = (rank < _MAX_SOURCES) & (value > 0)
    return sums, seed[keep], column[keep], value[keep]


class Recommender(BaseEstimator):  # type: ignore[misc]  # sklearn ships no stubs
    """Recommend items to customers: buy-again, also-bought and bought-together, blended.

    Three models are learnt from order lines and blended per customer:

    - **buy-again**: the customer's own purchases of an item, each order counting
      ``2 ** (-age / half_life_days)``, times the item's repurchase rate over all customers
      raised to ``repeat_strength`` (a printer is rarely bought twice, paper often);
    - **also-bought**: item-item similarity of co-occurrence over customers (``weighting``:
      BM25, TF-IDF, cosine, Jaccard or lift), recent co-purchases counting more
      (``similarity_half_life_days``), each item keeping its ``neighbours`` best neighbours;
      a customer's score for an item sums the similarities to what they bought, recent
      purchases counting more (``history_half_life_days``);
    - **bought-together**: the same over orders (items in one basket).

    In the blend, items in season weigh more: also-bought and bought-together scores are
    multiplied by the item's recent popularity to the power ``popularity_boost``, buy-again
    scores by recent popularity and trend (``buy_again_popularity_boost``, ``trend_boost``).
    Each part is then scaled to a maximum of 1 for the customer, so a customer with no
    repeat habit is ranked by the item-item parts and one with no neighbours' signal by
    their own history. Buy-again gets the share
    ``buy_again_weight * n / (n + buy_again_shrinkage)`` of a customer with ``n`` orders;
    the rest goes to also-bought and bought-together (in the ratio
    ``also_bought_weight : together_weight``); recent popularity adds ``popular_weight`` and
    fills the list when the rest runs out. A customer the model has not seen gets the
    popular items. The defaults are the settings chosen on a validation period of Online
    Retail II (``benchmarks/recs``).

    Parameters
    ----------
    weighting
        Co-occurrence weighting of the also-bought model.
    neighbours
        Neighbours kept per item (also-bought).
    shrinkage
        Similarities resting on ``co`` shared customers are multiplied by
        ``co / (co + shrinkage)``.
    bm25_k1, bm25_b
        BM25 saturation and length normalisation (``weighting="bm25"``).
    together_weighting, together_neighbours
        The same for the bought-together model (co-occurrence over orders).
    half_life_days
        Recency decay of buy-again: an order this many days old counts half.
    repeat_strength
        Exponent of the item's repurchase rate in buy-again (0: ignore the item).
    history_half_life_days
        Recency decay of the customer's purchases when they seed also-bought and
        bought-together (``None``: every purchase counts the same).
    max_history
        Purchases (the most recent) that seed also-bought and bought-together.
    max_customer_items
        Distinct items (each customer's most recent) that enter the also-bought
        co-occurrence (``None``: all). A wholesaler's thousands of items cost the product
        their square and, being bought by one account, say little about what goes with what.
    similarity_half_life_days
        Recency decay of the co-occurrence counts (``None``: all history counts the same):
        what customers bought together lately says more about what they buy next.
    popularity_half_life_days
        Recency decay of popularity (customers buying the item).
    popularity_boost
        Also-bought and bought-together scores are multiplied by the item's recent
        popularity (scaled to 1 for the most popular) to this power.
    buy_again_popularity_boost, trend_boost
        Buy-again scores are multiplied by the item's recent popularity and by its trend
        (recent over all-time popularity) to these powers (not in
        :class:`BuyAgainRecommender`, which uses the customer's history alone).
    buy_again_weight, buy_again_shrinkage, also_bought_weight, together_weight, popular_weight
        The blend (see above).
    out_of_stock
        Item ids never recommended.
    durable_items
        Item ids a customer never needs twice: not recommended to whoever bought them.

    Attributes
    ----------
    customer_ids_, item_ids_ : numpy.ndarray
        The customers and items seen in ``fit`` (sorted).
    reference_day_ : float
        The last purchase time in the training data, in days since 1970-01-01 UTC.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> lines = pa.table({"customer_id": [1, 1, 2, 2], "order_id": ["a", "a", "b", "c"],
    ...                   "item_id": ["tea", "cup", "tea", "tea"], "timestamp": [t] * 4})
    >>> Recommender().fit(lines).recommend(2, k=2)[0].item_id
    'tea'
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "weighting": [StrOptions(set(WEIGHTINGS))],
        "neighbours": [Interval(Integral, 1, None, closed="left")],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "bm25_k1": [Interval(Real, 0, None, closed="left")],
        "bm25_b": [Interval(Real, 0, 1, closed="both")],
        "together_weighting": [StrOptions(set(WEIGHTINGS))],
        "together_neighbours": [Interval(Integral, 1, None, closed="left")],
        "half_life_days": [Interval(Real, 0, None, closed="neither")],
        "repeat_strength": [Interval(Real, 0, None, closed="left")],
        "history_half_life_days": [Interval(Real, 0, None, closed="neither"), None],
        "max_history": [Interval(Integral, 1, None, closed="left")],
        "max_customer_items": [Interval(Integral, 1, None, closed="left"), None],
        "similarity_half_life_days": [Interval(Real, 0, None, closed="neither"), None],
        "popularity_half_life_days": [Interval(Real, 0, None, closed="neither")],
        "popularity_boost": [Interval(Real, 0, None, closed="left")],
        "buy_again_popularity_boost": [Interval(Real, 0, None, closed="left")],
        "trend_boost": [Interval(Real, 0, None, closed="left")],
        "buy_again_weight": [Interval(Real, 0, 1, closed="both")],
        "buy_again_shrinkage": [Interval(Real, 0, None, closed="left")],
        "also_bought_weight": [Interval(Real, 0, None, closed="left")],
        "together_weight": [Interval(Real, 0, None, closed="left")],
        "popular_weight": [Interval(Real, 0, None, closed="left")],
        "out_of_stock": ["array-like", None],
        "durable_items": ["array-like", None],
    }
    #: Which parts this class learns and blends.
    _parts: ClassVar[frozenset[str]] = frozenset(
        {"buy_again", "also_bought", "together", "popular"}
    )

    def __init__(
        self,
        *,
        weighting: str = "bm25",
        neighbours: int = 300,
        shrinkage: float = 0.0,
        bm25_k1: float = 3.0,
        bm25_b: float = 0.75,
        together_weighting: str = "bm25",
        together_neighbours: int = 100,
        half_life_days: float = 365.0,
        repeat_strength: float = 0.5,
        history_half_life_days: float | None = 30.0,
        max_history: int = 200,
        max_customer_items: int | None = 150,
        similarity_half_life_days: float | None = 60.0,
        popularity_half_life_days: float = 14.0,
        popularity_boost: float = 0.5,
        buy_again_popularity_boost: float = 0.25,
        trend_boost: float = 0.5,
        buy_again_weight: float = 0.85,
        buy_again_shrinkage: float = 0.0,
        also_bought_weight: float = 1.0,
        together_weight: float = 0.5,
        popular_weight: float = 0.05,
        out_of_stock: Sequence[str] | None = None,
        durable_items: Sequence[str] | None = None,
    ) -> None:
        self.weighting = weighting
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.together_weighting = together_weighting
        self.together_neighbours = together_neighbours
        self.half_life_days = half_life_days
        self.repeat_strength = repeat_strength
        self.history_half_life_days = history_half_life_days
        self.max_history = max_history
        self.max_customer_items = max_customer_items
        self.similarity_half_life_days = similarity_half_life_days
        self.popularity_half_life_days = popularity_half_life_days
        self.popularity_boost = popularity_boost
        self.buy_again_popularity_boost = buy_again_popularity_boost
        self.trend_boost = trend_boost
        self.buy_again_weight = buy_again_weight
        self.buy_again_shrinkage = buy_again_shrinkage
        self.also_bought_weight = also_bought_weight
        self.together_weight = together_weight
        self.popular_weight = popular_weight
        self.out_of_stock = out_of_stock
        self.durable_items = durable_items

    # ------------------------------------------------------------------ fit

    def fit(self, lines: Any, y: None = None) -> Self:  # noqa: ARG002  # sklearn signature
        """Learn the three models from order lines.

        Parameters
        ----------
        lines
            A pyarrow Table (or DataFrame) with ``customer_id`` (whole numbers or text),
            ``order_id``, ``item_id`` (text or whole numbers), ``timestamp`` (timestamp, naive
            = UTC, or date) and optionally ``quantity`` (lines with quantity <= 0 are left
            out: returns).
        y
            Ignored.

        Returns
        -------
        Recommender
            ``self``, fitted.

        Raises
        ------
        InvalidDataError
            A column is missing or unusable, or no purchase is left (empty catalogue).
        """
        self._validate_params()
        self._clear_cache()
        enc = encode_lines(lines)
        self._fit_encoded(enc)
        return self

    def _fit_encoded(self, enc: EncodedLines) -> None:
        n_customers, n_items = len(enc.customer_ids), len(enc.item_ids)
        ref = enc.last_day
        self.customer_ids_ = enc.customer_ids
        self.item_ids_ = enc.item_ids
        self.reference_day_ = ref
        self.n_lines_ = len(enc.item)
        age = ref - enc.day

        # Customer x item pairs (rows come sorted by customer, so pairs are too).
        key = enc.customer * n_items + enc.item
        pairs, pair_of = np.unique(key, return_inverse=True)
        pair_customer = pairs // n_items
        pair_item = (pairs % n_items).astype(np.int64)
        n_bought = np.bincount(pair_of, minlength=len(pairs)).astype(np.float64)
        last = np.full(len(pairs), -np.inf)
        np.maximum.at(last, pair_of, enc.day)
        decayed = np.bincount(
            pair_of, weights=np.exp2(-age / self.half_life_days), minlength=len(pairs)
        )
        self.history_indptr_ = np.concatenate(
            [[0], np.cumsum(np.bincount(pair_customer, minlength=n_customers))]
        ).astype(np.int64)
        self.history_items_ = pair_item
        self.history_last_day_ = last
        # Item repurchase rate, shrunk to the overall rate by 5 buyers' worth (floored, so that
        # a shop where nobody re-bought yet still ranks a customer's own items).
        buyers = np.bincount(pair_item, minlength=n_items).astype(np.float64)
        repeaters = np.bincount(pair_item, weights=(n_bought > 1), minlength=n_items)
        overall = float(repeaters.sum() / max(buyers.sum(), 1.0))
        self.item_repeat_rate_ = np.maximum((repeaters + 5.0 * overall) / (buyers + 5.0), 1e-3)
        recency_rank = self._recency_rank(last)
        self.history_weight_ = self._history_weight(last, ref, recency_rank)
        orders_key = np.unique(enc.customer * enc.n_orders + enc.order)
        self.customer_orders_ = np.bincount(
            orders_key // enc.n_orders, minlength=n_customers
        ).astype(np.float64)

        popularity = np.asarray(
            np.bincount(
                pair_item,
                weights=np.exp2(-(ref - last) / self.popularity_half_life_days),
                minlength=n_items,
            ),
            dtype=np.float64,
        )
        self.item_popularity_ = _scaled(popularity)
        self.popular_items_ = np.lexsort((np.arange(n_items), -popularity)).astype(np.int64)
        # Trend: recent popularity against all-time (buyers), both scaled to a maximum of 1.
        self.item_trend_ = (self.item_popularity_ + 1e-3) / (_scaled(buyers) + 1e-3)
        buy_again_context = self.item_repeat_rate_ ** float(self.repeat_strength)
        if "popular" in self._parts:
            buy_again_context = (
                buy_again_context
                * (self.item_popularity_ + 1e-4) ** float(self.buy_again_popularity_boost)
                * self.item_trend_ ** float(self.trend_boost)
            )
            self.item_boost_ = (self.item_popularity_ + 1e-4) ** float(self.popularity_boost)
        else:
            self.item_boost_ = np.ones(n_items)
        self.history_buy_again_ = decayed * buy_again_context[pair_item]

        blocked = np.zeros(n_items, dtype=bool)
        blocked[self._item_codes(self.out_of_stock or ())] = True
        self.blocked_ = blocked
        durable = np.zeros(n_items, dtype=bool)
        durable[self._item_codes(self.durable_items or ())] = True
        self.durable_ = durable

        empty = sp.csr_matrix((n_items, n_items))
        also, together = empty, empty
        if "also_bought" in self._parts:
            weight = self._recency(ref - last)
            kept = weight > 0
            if self.max_customer_items is not None:
                kept &= recency_rank < self.max_customer_items
            item_customers = sp.csr_matrix(
                (weight[kept], (pair_item[kept], pair_customer[kept])),
                shape=(n_items, n_customers),
            )
            also = similarity(
                item_customers,
                weighting=self.weighting,  # type: ignore[arg-type]  # checked by constraints
                k=self.neighbours,
                shrinkage=self.shrinkage,
                bm25_k1=self.bm25_k1,
                bm25_b=self.bm25_b,
            )
        if "together" in self._parts:
            weight = self._recency(age)
            kept = weight > 0
            item_orders = sp.csr_matrix(
                (weight[kept], (enc.item[kept], enc.order[kept])), shape=(n_items, enc.n_orders)
            )
            together = similarity(
                item_orders,
                weighting=self.together_weighting,  # type: ignore[arg-type]
                k=self.together_neighbours,
                bm25_k1=self.bm25_k1,
                bm25_b=self.bm25_b,
            )
        self.also_indptr_ = also.indptr.astype(np.int64)
        self.also_items_ = also.indices.astype(np.int64)
        self.also_score_ = also.data.astype(np.float64)
        self.together_indptr_ = together.indptr.astype(np.int64)
        self.together_items_ = together.indices.astype(np.int64)
        self.together_score_ = together.data.astype(np.float64)

    def _recency(self, age: FloatArray) -> FloatArray:
        """Weight of a purchase ``age`` days old in the co-occurrence counts.

        With ``similarity_half_life_days`` purchases fade (recent tastes count more) and those
        older than ``_FORGET`` half-lives are dropped, which also keeps the products cheap.
        """
        if self.similarity_half_life_days is None:
            return np.ones(len(age))
        halves = age / float(self.similarity_half_life_days)
        return np.where(halves <= _FORGET, np.exp2(-halves), 0.0)

    def _recency_rank(self, last: FloatArray) -> IntArray:
        """Rank of each (customer, item) pair within its customer, the most recent first."""
        indptr = self.history_indptr_
        lengths = np.diff(indptr)
        owner = np.repeat(np.arange(len(lengths)), lengths)
        order = np.lexsort((-last, owner))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order)) - indptr[owner[order]]
        return rank

    def _history_weight(self, last: FloatArray, ref: float, rank: IntArray) -> FloatArray:
        """Seed weight of each purchase for also-bought: recency decay, top ``max_history``."""
        if self.history_half_life_days is None:
            weight = np.ones(len(last))
        else:
            # Not cut off by age: every part is scaled per customer, so a customer whose
            # purchases are all old still gets their (faded, relative) neighbours.
            weight = np.exp2(-(ref - last) / self.history_half_life_days)
        weight = np.where(rank < self.max_history, weight, 0.0)
        return np.asarray(weight, dtype=np.float64)

    # ----------------------------------------------------------- lookups

    def _clear_cache(self) -> None:
        self._customer_lookup: dict[Hashable, int] | None = None
        self._item_lookup: dict[str, int] | None = None
        self._item_names: list[str] | None = None
        self._similarities: tuple[sp.csr_matrix, sp.csr_matrix] | None = None
        self._blocked_codes: IntArray | None = None
        self._stacked_rows: tuple[IntArray, IntArray, FloatArray] | None = None

    def _items(self) -> dict[str, int]:
        lookup = getattr(self, "_item_lookup", None)
        if lookup is None:
            lookup = {str(item): i for i, item in enumerate(self.item_ids_.tolist())}
            self._item_lookup = lookup
        return lookup

    def _names(self) -> list[str]:
        names = getattr(self, "_item_names", None)
        if names is None:
            names = [str(item) for item in self.item_ids_.tolist()]
            self._item_names = names
        return names

    def _item_codes(self, item_ids: Iterable[str]) -> IntArray:
        lookup = self._items()
        codes = [lookup[str(i)] for i in item_ids if str(i) in lookup]
        return np.asarray(codes, dtype=np.int64)

    def _customer_code(self, customer_id: Any) -> int | None:
        lookup = getattr(self, "_customer_lookup", None)
        if lookup is None:
            lookup = {c: i for i, c in enumerate(self.customer_ids_.tolist())}
            self._customer_lookup = lookup
        if self.customer_ids_.dtype.kind in "iu":
            try:
                key: Hashable = int(customer_id)
            except (TypeError, ValueError):
                return None
        else:
            key = str(customer_id)
        return lookup.get(key)

    # --------------------------------------------------------- scoring

    def _blend_share(self, customer: int) -> float:
        if "buy_again" not in self._parts:
            return 0.0
        if not self._parts - {"buy_again"}:
            return 1.0
        n = float(self.customer_orders_[customer])
        return float(self.buy_again_weight) * n / (n + float(self.buy_again_shrinkage) + 1e-12)

    def _matrices(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Return the also-bought and bought-together similarities as CSR (built once)."""
        cached = getattr(self, "_similarities", None)
        if cached is None:
            n_items = len(self.item_ids_)
            cached = (
                sp.csr_matrix(
                    (self.also_score_, self.also_items_, self.also_indptr_),
                    shape=(n_items, n_items),
                ),
                sp.csr_matrix(
                    (self.together_score_, self.together_items_, self.together_indptr_),
                    shape=(n_items, n_items),
                ),
            )
            self._similarities = cached
        return cached

    def _stacked(self) -> tuple[IntArray, IntArray, FloatArray]:
        """Return also-bought and bought-together as one CSR (items x 2 items), built once.

        Bought-together neighbours are numbered from ``n_items``: one gather and one sum
        score both parts of a customer (half the numpy calls of the hot path).
        """
        cached = getattr(self, "_stacked_rows", None)
        if cached is None:
            n_items = len(self.item_ids_)
            also_n, together_n = np.diff(self.also_indptr_), np.diff(self.together_indptr_)
            lengths = also_n + together_n
            indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
            owner = np.repeat(np.arange(n_items), lengths)
            second = np.arange(len(owner)) - indptr[owner] >= also_n[owner]
            items = np.empty(len(owner), dtype=np.int64)
            scores = np.empty(len(owner))
            items[~second], scores[~second] = self.also_items_, self.also_score_
            items[second] = self.together_items_ + n_items
            scores[second] = self.together_score_
            cached = (indptr, items, scores)
            self._stacked_rows = cached
        return cached

    def _customer_parts(self, customer: int) -> _Parts:
        n_items = len(self.item_ids_)
        start, end = self.history_indptr_[customer], self.history_indptr_[customer + 1]
        history = self.history_items_[start:end]
        buy_again = np.zeros(n_items)
        buy_again[history] = self.history_buy_again_[start:end]
        weight = self.history_weight_[start:end]
        chosen = weight > 0
        seeds, seed_weight = history[chosen], weight[chosen]
        indptr, items, scores = self._stacked()
        positions, owner = _gather(indptr, seeds)
        targets = items[positions]
        amount = scores[positions]
        amount *= seed_weight[owner]
        both = np.bincount(targets, weights=amount, minlength=2 * n_items)
        boost = self.item_boost_
        return _Parts(
            buy_again=buy_again,
            also=boost * both[:n_items],
            together=boost * both[n_items:],
            w_buy_again=self._blend_share(customer),
            history=history,
            seeds=seeds,
            seed_weight=seed_weight,
            links=(targets, owner, amount),
        )

    def _blend(
        self,
        buy_again: FloatArray,
        also: FloatArray,
        together: FloatArray,
        share: FloatArray | np.float64,
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Blend scaled parts (rows: customers); returns the weighted parts and popularity."""
        total_cf = float(self.also_bought_weight) + float(self.together_weight)
        cf_share = (1.0 - share) / total_cf if total_cf > 0 else 0.0 * share
        ba = buy_again * share
        al = also * (cf_share * float(self.also_bought_weight))
        to = together * (cf_share * float(self.together_weight))
        weight = float(self.popular_weight) if "popular" in self._parts else 0.0
        pop = np.broadcast_to(self.item_popularity_ * weight, np.shape(buy_again))
        return ba, al, to, pop

    def _mask(self, history: IntArray, exclude_codes: IntArray, exclude_seen: bool) -> IntArray:
        """Item codes that may not be recommended to this customer."""
        blocked = getattr(self, "_blocked_codes", None)
        if blocked is None:
            blocked = self._blocked_codes = np.flatnonzero(self.blocked_)
        masked = [blocked, exclude_codes]
        if exclude_seen:
            masked.append(history)
        else:
            masked.append(history[self.durable_[history]])
        return np.concatenate(masked).astype(np.int64)

    def _top(self, score: FloatArray, masked: IntArray, k: int) -> IntArray:
        score = score.copy()
        # Popularity breaks ties and fills the list when the customer's parts run out.
        score += 1e-9 * self.item_popularity_
        score[masked] = -np.inf
        k = min(k, int(np.isfinite(score).sum()))
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        top = np.argpartition(-score, k - 1)[:k]
        return top[np.lexsort((top, -score[top]))].astype(np.int64)

    def recommend(
        self,
        customer_id: Any,
        *,
        k: int = 10,
        now: dt.datetime | None = None,
        exclude: Collection[str] = (),
    ) -> list[Recommendation]:
        """Return up to ``k`` recommendations for one customer, best first, with reasons.

        Parameters
        ----------
        customer_id
            The customer; one not seen in ``fit`` gets the popular items.
        k
            How many items at most.
        now
            The time of the request (default: the end of the training data); purchases are
            aged up to it in the ``at`` dates and the decays.
        exclude
            Item ids not to recommend (e.g. in the basket, or shown too often).
        """
        if "reference_day_" not in vars(self):  # sklearn's check scans every attribute
            check_is_fitted(self)
        exclude_codes = self._item_codes(exclude)
        customer = self._customer_code(customer_id)
        del now  # every part is scaled per customer, so the age shift cancels out
        if customer is None:
            return self._popular(k, exclude_codes)
        parts = self._customer_parts(customer)
        ba, al, to, pop = self._blend(
            _scaled(parts.buy_again),
            _scaled(parts.also),
            _scaled(parts.together),
            np.float64(parts.w_buy_again),
        )
        score = ba + al + to + pop
        top = self._top(score, self._mask(parts.history, exclude_codes, False), k)
        return self._explain(customer, top, score, ba, al, to, pop, parts)

    def _popular(self, k: int, exclude_codes: IntArray) -> list[Recommendation]:
        blocked = self.blocked_.copy()
        blocked[exclude_codes] = True
        chosen = [i for i in self.popular_items_.tolist() if not blocked[i]][: max(k, 0)]
        return [
            Recommendation(
                item_id=str(self.item_ids_[i]),
                score=float(self.item_popularity_[i]),
                reasons=(Reason("popular", None, None, 1.0),),
            )
            for i in chosen
        ]

    def _explain(
        self,
        customer: int,
        top: IntArray,
        score: FloatArray,
        ba: FloatArray,
        al: FloatArray,
        to: FloatArray,
        pop: FloatArray,
        parts: _Parts,
    ) -> list[Recommendation]:
        # On the serving hot path: the sources of all ``top`` items are found in one pass
        # over the customer's links, and only the dates that are shown are looked up.
        n = len(top)
        if n == 0:
            return []
        n_items = len(self.item_ids_)
        # The customer's links to the recommended items, seed by seed as the scores summed
        # them (so the totals are the same numbers).
        column_of = np.full(2 * n_items, -1, dtype=np.int64)
        column_of[top] = np.arange(n)
        column_of[top + n_items] = np.arange(n, 2 * n)
        targets, owner, amount = parts.links
        target_column = column_of[targets]
        hit = np.flatnonzero(target_column >= 0)
        sums, rows, columns, amounts = _sources(target_column[hit], owner[hit], amount[hit], 2 * n)
        second = columns >= n
        sources = {
            "also_bought": (sums[:n], rows[~second], columns[~second], amounts[~second]),
            "bought_together": (sums[n:], rows[second], columns[second] - n, amounts[second]),
        }
        # Dates of the items named in a reason: the recommended ones (bought before) and the
        # seeds, each the customer's last purchase of it.
        start = int(self.history_indptr_[customer])
        history = parts.history  # sorted item codes (pairs are sorted by customer, item)
        named = np.concatenate(
            [
                top,
                parts.seeds[sources["also_bought"][1]],
                parts.seeds[sources["bought_together"][1]],
            ]
        )
        where = np.minimum(np.searchsorted(history, named), max(len(history) - 1, 0))
        days = self.history_last_day_[start + where] if len(history) else np.zeros(len(named))
        on = dict(zip(named.tolist(), days.tolist(), strict=True))
        names = self._names()
        seeds = parts.seeds.tolist()
        per_kind = {}
        for kind, (sums, rows, columns, amounts) in sources.items():
            listed: dict[int, list[tuple[int, float]]] = {}
            for row, column, amount in zip(
                rows.tolist(), columns.tolist(), amounts.tolist(), strict=True
            ):
                listed.setdefault(column, []).append((seeds[row], amount))
            per_kind[kind] = (sums.tolist(), listed)
        out: list[Recommendation] = []
        values = zip(
            top.tolist(),
            score[top].tolist(),
            ba[top].tolist(),
            al[top].tolist(),
            to[top].tolist(),
            pop[top].tolist(),
            strict=True,
        )
        for column, (item, total, ba_item, al_item, to_item, pop_item) in enumerate(values):
            # (-weight, kind's rank, kind, item named), Reason objects only for those kept.
            # Sorted as plain tuples: largest share first, ties in the order of REASON_KINDS,
            # then by item code (which is the seeds' order, as the sources come).
            found: list[tuple[float, int, str, int]] = []
            if total > 0:
                if ba_item > 0:
                    found.append((-ba_item / total, 0, "bought_before", item))
                for rank, kind, part in (
                    (1, "also_bought", al_item),
                    (2, "bought_together", to_item),
                ):
                    if part <= 0:
                        continue
                    totals, listed = per_kind[kind]
                    share = part / total / totals[column]
                    for source, contribution in listed.get(column, ()):
                        found.append((-contribution * share, rank, kind, source))
                if pop_item > 0:
                    found.append((-pop_item / total, 3, "popular", -1))
            found.sort()
            kept = [f for f in found if -f[0] >= _MIN_REASON_SHARE] or found[:1]
            reasons = tuple(
                Reason(kind, None, None, -weight)
                if named_item < 0
                else Reason(kind, names[named_item], date_of(on[named_item]), -weight)
                for weight, _, kind, named_item in kept
            ) or (Reason("popular", None, None, 1.0),)
            out.append(Recommendation(names[item], total, reasons))
        return out

    def recommend_many(
        self,
        customer_ids: Iterable[Any],
        *,
        k: int = 10,
        now: dt.datetime | None = None,
        exclude_seen: bool = False,
        reasons: bool = True,
    ) -> dict[Any, list[Recommendation]]:
        """Recommend to many customers at once (vectorised; for batch jobs and evaluation).

        Parameters
        ----------
        customer_ids
            The customers (unknown ones get the popular items).
        k, now
            As in :meth:`recommend`.
        exclude_seen
            Leave out every item the customer bought before (cross-sell only).
        reasons
            Explain each recommendation (slower); ``False`` gives empty ``reasons``.

        Returns
        -------
        dict
            Customer id to recommendations, best first.
        """
        check_is_fitted(self)
        del now
        ids = list(customer_ids)
        codes = [self._customer_code(c) for c in ids]
        known = np.asarray([c for c in codes if c is not None], dtype=np.int64)
        ranked, ranked_scores = self.rank(known, k=k, exclude_seen=exclude_seen)
        result: dict[Any, list[Recommendation]] = {}
        row_of = {int(c): r for r, c in enumerate(known.tolist())}
        popular = self._popular(k, np.zeros(0, dtype=np.int64))
        for customer_id, code in zip(ids, codes, strict=True):
            if code is None:
                result[customer_id] = popular
                continue
            row = row_of[code]
            items = ranked[row][ranked[row] >= 0]
            if reasons:
                parts = self._customer_parts(code)
                ba, al, to, pop = self._blend(
                    _scaled(parts.buy_again),
                    _scaled(parts.also),
                    _scaled(parts.together),
                    np.float64(parts.w_buy_again),
                )
                result[customer_id] = self._explain(
                    code, items, ba + al + to + pop, ba, al, to, pop, parts
                )
            else:
                result[customer_id] = [
                    Recommendation(str(self.item_ids_[i]), float(s), ())
                    for i, s in zip(items.tolist(), ranked_scores[row].tolist(), strict=False)
                ]
        return result

    def rank(
        self, customers: npt.ArrayLike, *, k: int = 10, exclude_seen: bool = False
    ) -> tuple[IntArray, FloatArray]:
        """Return the top ``k`` item codes per customer code (``-1`` padded) and scores.

        The vectorised core of :meth:`recommend_many`: sparse products over chunks of
        customers, the same scores as :meth:`recommend`.
        """
        check_is_fitted(self)
        customers = np.asarray(customers, dtype=np.int64)
        n_items = len(self.item_ids_)
        out = np.full((len(customers), k), -1, dtype=np.int64)
        out_scores = np.zeros((len(customers), k))
        also, together = self._matrices()
        blocked = np.flatnonzero(self.blocked_)
        for first in range(0, len(customers), _CHUNK):
            chunk = customers[first : first + _CHUNK]
            positions, owner = _gather(self.history_indptr_, chunk)
            items = self.history_items_[positions]
            shape = (len(chunk), n_items)
            buy_again = sp.csr_matrix(
                (self.history_buy_again_[positions], (owner, items)), shape=shape
            ).toarray()
            seeds = sp.csr_matrix((self.history_weight_[positions], (owner, items)), shape=shape)
            also_scores = (seeds @ also).toarray() * self.item_boost_
            together_scores = (seeds @ together).toarray() * self.item_boost_
            share = np.asarray([self._blend_share(int(c)) for c in chunk])[:, None]
            parts = self._blend(
                _scaled_rows(buy_again),
                _scaled_rows(also_scores),
                _scaled_rows(together_scores),
                share,
            )
            score = parts[0] + parts[1] + parts[2] + parts[3] + 1e-9 * self.item_popularity_
            score[:, blocked] = -np.inf
            if exclude_seen:
                score[owner, items] = -np.inf
            else:
                durable = self.durable_[items]
                score[owner[durable], items[durable]] = -np.inf
            kk = min(k, n_items)
            if kk == 0:
                continue
            top = np.argpartition(-score, kk - 1, axis=1)[:, :kk]
            top_scores = np.take_along_axis(score, top, axis=1)
            order = np.lexsort((top, -top_scores), axis=1)
            top = np.take_along_axis(top, order, axis=1)
            top_scores = np.take_along_axis(top_scores, order, axis=1)
            top[~np.isfinite(top_scores)] = -1
            out[first : first + len(chunk), :kk] = top
            out_scores[first : first + len(chunk), :kk] = np.where(
                top >= 0, top_scores - 1e-9 * self.item_popularity_[top], 0.0
            )
        return out, out_scores


def _scaled_rows(values: FloatArray) -> FloatArray:
    top = values.max(axis=1, keepdims=True) if values.shape[1] else np.zeros((len(values), 1))
    top[top <= 0] = 1.0
    return np.asarray(values / top, dtype=np.float64)


class BuyAgainRecommender(Recommender):
    """Buy-again alone: the customer's own purchases, recency-decayed.

    See :class:`Recommender`; the also-bought and bought-together parameters are unused.
    """

    _parts: ClassVar[frozenset[str]] = frozenset({"buy_again"})


class AlsoBoughtRecommender(Recommender):
    """Item-item alone: also-bought and bought-together, no buy-again.

    See :class:`Recommender`; ``half_life_days`` and the buy-again weights are unused.
    """

    _parts: ClassVar[frozenset[str]] = frozenset({"also_bought", "together", "popular"})
