"""Reads of the customer-value feature: runs, one customer's scores, tiers, curves, lists."""

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Select, case, func, null, select
from sqlalchemy.orm import Session, aliased

from kehu.commerce import order_totals
from kehu.core import InvalidInputError, NotFoundError, utcnow
from kehu.customers import Customer
from kehu.engagement import Direction, Interaction
from kehu.store import count_rows
from kehu.users import User
from kehu.value.errors import ValueErrorCode
from kehu.value.models import CustomerValue, ValueRun, ValueRunStatus, ValueTier
from kehu.value.schemas import (
    CustomerValuePublic,
    DashboardFigures,
    HistogramBin,
    OrderFigures,
    OwnerCustomer,
    ParetoPoint,
    TierSize,
    ValuedCustomer,
)

#: ``sort`` values of :func:`list_valued_customers`: scores sort highest first, a leading
#: ``-`` reverses; ``rank`` is the same order as ``clv``.
SORTS: dict[str, tuple[Any, bool]] = {
    "clv": (CustomerValue.clv, True),
    "p_alive": (CustomerValue.p_alive, True),
    "expected_purchases": (CustomerValue.expected_purchases, True),
    "frequency": (CustomerValue.frequency, True),
    "rank": (CustomerValue.value_rank, False),
}


def latest_value_run(session: Session, *, include_failed: bool = False) -> ValueRun | None:
    """Return the newest successful run (or the newest of any status), or None."""
    query = select(ValueRun).order_by(ValueRun.id.desc()).limit(1)
    if not include_failed:
        query = query.where(ValueRun.status == ValueRunStatus.SUCCEEDED)
    return session.scalar(query)


def find_running_value_run(session: Session) -> ValueRun | None:
    """Return a run still marked running, if any (the newest)."""
    return session.scalar(
        select(ValueRun)
        .where(ValueRun.status == ValueRunStatus.RUNNING)
        .order_by(ValueRun.id.desc())
        .limit(1)
    )


def list_value_runs(session: Session, *, limit: int = 20) -> list[ValueRun]:
    """Return the newest runs first."""
    return list(session.scalars(select(ValueRun).order_by(ValueRun.id.desc()).limit(limit)))


def get_customer_value(session: Session, customer_id: int) -> CustomerValuePublic:
    """Return the latest value scores of a customer.

    The segment's display names are left empty here (they live in
    :data:`kehu.analytics.segments.SEGMENTS`, which delivery layers may read).

    Raises
    ------
    NotFoundError
        The customer does not exist, or has no scores (no sale up to the last run's
        observation end, or no successful run yet); the message says which.
    """
    row = session.execute(
        select(CustomerValue, ValueRun.currency, ValueRun.horizon_weeks)
        .join(ValueRun, ValueRun.id == CustomerValue.run_id)
        .where(CustomerValue.customer_id == customer_id)
    ).first()
    if row is None:
        if session.get(Customer, customer_id) is None:
            raise NotFoundError(f"There is no customer {customer_id}.", code="customers.not_found")
        run = latest_value_run(session)
        reason = (
            "no value analysis has run yet; run `kehu analyze` (or POST /api/v1/value/runs)"
            if run is None
            else f"they had no sale up to {run.observation_end} when the last analysis ran"
        )
        raise NotFoundError(
            f"Customer {customer_id} has no value scores: {reason}.",
            code=ValueErrorCode.NOT_SCORED,
        )
    scores, currency, horizon = row
    out = CustomerValuePublic.model_validate(scores)
    out.currency = currency
    out.horizon_weeks = horizon
    return out


def _scored_count_and_total(session: Session) -> tuple[int, float]:
    n, total = session.execute(
        select(func.count(), func.coalesce(func.sum(CustomerValue.clv), 0))
    ).one()
    return int(n), float(total)


def tier_summary(session: Session) -> list[TierSize]:
    """Return every tier (VIP first) with its customers, CLV and shares of both."""
    n_all, total = _scored_count_and_total(session)
    found = {
        tier: (int(n), Decimal(str(clv)))
        for tier, n, clv in session.execute(
            select(
                CustomerValue.tier, func.count(), func.coalesce(func.sum(CustomerValue.clv), 0)
            ).group_by(CustomerValue.tier)
        )
    }
    out = []
    for tier in ValueTier:
        n, clv = found.get(tier, (0, Decimal("0")))
        out.append(
            TierSize(
                tier=tier,
                n_customers=n,
                clv=clv.quantize(Decimal("0.01")),
                customer_share=n / n_all if n_all else 0.0,
                value_share=float(clv) / total if total else 0.0,
            )
        )
    return out


def pareto_curve(session: Session, points: int = 50) -> list[ParetoPoint]:
    """Return the cumulative share of predicted value brought by the top customers.

    Parameters
    ----------
    points
        Number of points after (0, 0); point ``i`` is the top ``ceil(i n / points)``
        customers by value rank.

    Returns
    -------
    list[ParetoPoint]
        Starting at (0, 0) and ending at (1, 1) (fewer points when fewer customers).
    """
    if not 1 <= points <= 1000:
        raise InvalidInputError(
            "points must be between 1 and 1000.", code=ValueErrorCode.BAD_PARAMETER
        )
    n, total = _scored_count_and_total(session)
    if n == 0:
        return []
    ranks = sorted({-(-i * n // points) for i in range(1, points + 1)})
    cumulative = (
        select(
            CustomerValue.value_rank.label("rank"),
            func.sum(CustomerValue.clv).over(order_by=CustomerValue.value_rank).label("value"),
        )
    ).subquery()
    values = dict(
        session.execute(
            select(cumulative.c.rank, cumulative.c.value).where(cumulative.c.rank.in_(ranks))
        ).all()
    )
    out = [ParetoPoint(customer_share=0.0, value_share=0.0)]
    for rank in ranks:
        value = float(values.get(rank, 0) or 0)
        out.append(
            ParetoPoint(customer_share=rank / n, value_share=value / total if total else 0.0)
        )
    return out


def pareto_share(session: Session, customer_share: float = 0.2) -> float:
    """Return the share of predicted value the top ``customer_share`` of customers bring."""
    n, total = _scored_count_and_total(session)
    if n == 0 or total == 0:
        return 0.0
    top = max(1, round(customer_share * n))
    value = session.scalar(
        select(func.coalesce(func.sum(CustomerValue.clv), 0)).where(CustomerValue.value_rank <= top)
    )
    return float(value or 0) / total


def clv_histogram(session: Session, bins: int = 20, *, scale: str = "log") -> list[HistogramBin]:
    """Return how many customers fall in each of ``bins`` CLV ranges, lowest first.

    Lifetime values are heavy-tailed (a few wholesalers are worth a hundred times the median
    customer), so equal-width ranges put nearly everyone in the first bar. With ``scale="log"``
    (the default) the inner edges are spaced geometrically from the smallest CLV of at least one
    unit of money to the largest, and the first range also holds everything below; ``"linear"``
    gives equal widths from the minimum to the maximum.
    """
    if not 1 <= bins <= 200:
        raise InvalidInputError(
            "bins must be between 1 and 200.", code=ValueErrorCode.BAD_PARAMETER
        )
    if scale not in ("log", "linear"):
        raise InvalidInputError(
            f"Unknown scale {scale!r}; use log or linear.", code=ValueErrorCode.BAD_PARAMETER
        )
    found: Any = session.execute(
        select(
            func.min(CustomerValue.clv),
            func.max(CustomerValue.clv),
            func.min(case((CustomerValue.clv >= 1, CustomerValue.clv), else_=None)),
        )
    ).one()
    if found[0] is None:
        return []
    low, high = Decimal(str(found[0])), Decimal(str(found[1]))
    cents = Decimal("0.01")
    if high <= low:
        n = session.scalar(select(func.count()).select_from(CustomerValue)) or 0
        return [HistogramBin(lower=low, upper=high, n_customers=int(n))]
    start = Decimal(str(found[2])) if found[2] is not None else None
    if scale == "log" and start is not None and high > start:
        ratio = float(high / start)
        inner = [start * Decimal(str(ratio ** (i / bins))) for i in range(1, bins)]
    else:
        width = (high - low) / bins
        inner = [low + width * i for i in range(1, bins)]
    # Rounded to cents and strictly increasing (tiny ranges can round two edges together).
    edges: list[Decimal] = []
    for edge in (e.quantize(cents) for e in inner):
        if low < edge < high and (not edges or edge > edges[-1]):
            edges.append(edge)
    # One pass: how many lie below each inner edge; the differences are the bins.
    below = session.execute(
        select(
            func.count(),
            *[func.sum(case((CustomerValue.clv < edge, 1), else_=0)) for edge in edges],
        )
    ).one()
    n = int(below[0])
    cumulative = [int(v or 0) for v in below[1:]] + [n]
    counts = [cumulative[0]] + [b - a for a, b in itertools.pairwise(cumulative)]
    bounds = [low.quantize(cents), *edges, high.quantize(cents)]
    return [
        HistogramBin(lower=bounds[i], upper=bounds[i + 1], n_customers=count)
        for i, count in enumerate(counts)
    ]


def _valued_query() -> Select[*tuple[Any, ...]]:
    owner = aliased(User)
    return (
        select(
            Customer.id,
            Customer.name,
            Customer.owner_id,
            owner.name,
            CustomerValue.clv,
            CustomerValue.p_alive,
            CustomerValue.expected_purchases,
            CustomerValue.tier,
            CustomerValue.rfm_segment,
            CustomerValue.value_rank,
            Customer.external_id,
        )
        .select_from(CustomerValue)
        .join(Customer, Customer.id == CustomerValue.customer_id)
        .outerjoin(owner, owner.id == Customer.owner_id)
    )


def list_valued_customers(
    session: Session,
    *,
    tier: ValueTier | str | None = None,
    segment: str | None = None,
    owner_id: int | None = None,
    sort: str = "clv",
    limit: int = 50,
    offset: int = 0,
    where: ColumnElement[bool] | None = None,
    count_limit: int | None = None,
) -> tuple[list[ValuedCustomer], int]:
    """Return a page of scored customers and how many match.

    Parameters
    ----------
    tier, segment, owner_id
        Filters (all optional).
    where
        A predicate on ``customers``: the caller's scope (``kehu.access``).
    count_limit
        Count at most this many (:func:`kehu.store.count_rows`): a count above it means
        "more than ``count_limit``". ``None`` counts exactly.
    sort
        One of :data:`SORTS`; scores sort highest first, ``-`` in front reverses
        (``-clv``: least valuable first). Ties go by customer id.

    Raises
    ------
    InvalidInputError
        An unknown tier or sort.
    """
    key = sort.removeprefix("-")
    if key not in SORTS:
        raise InvalidInputError(
            f"Unknown sort {sort!r}; use one of {', '.join(SORTS)} (a leading - reverses).",
            code=ValueErrorCode.BAD_SORT,
        )
    column, descending = SORTS[key]
    if sort.startswith("-"):
        descending = not descending
    filters = []
    if tier is not None:
        try:
            filters.append(CustomerValue.tier == ValueTier(tier))
        except ValueError as exc:
            raise InvalidInputError(
                f"Unknown tier {tier!r}; use one of {', '.join(t.value for t in ValueTier)}.",
                code=ValueErrorCode.BAD_PARAMETER,
            ) from exc
    if segment is not None:
        filters.append(CustomerValue.rfm_segment == segment)
    if owner_id is not None:
        filters.append(Customer.owner_id == owner_id)
    if where is not None:
        filters.append(where)
    counted = select(CustomerValue.customer_id)
    if owner_id is not None or where is not None:  # the filters on the customer
        counted = counted.join(Customer, Customer.id == CustomerValue.customer_id)
    count = count_rows(session, counted.where(*filters), at_most=count_limit)
    rows = session.execute(
        _valued_query()
        .where(*filters)
        .order_by(column.desc() if descending else column.asc(), Customer.id)
        .limit(limit)
        .offset(offset)
    ).all()
    data = [
        ValuedCustomer(
            customer_id=r[0],
            name=r[1],
            owner_id=r[2],
            owner_name=r[3],
            clv=Decimal(str(r[4])).quantize(Decimal("0.01")),
            p_alive=r[5],
            expected_purchases=r[6],
            tier=r[7],
            rfm_segment=r[8],
            value_rank=r[9],
            external_id=r[10],
        )
        for r in rows
    ]
    return data, count


def list_owner_customers(
    session: Session, owner_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[OwnerCustomer], int]:
    """Return a page of the customers ``owner_id`` owns, most valuable first, and their count.

    Each row carries CLV, P(alive), tier and segment (empty when not scored) and the days
    since our last outbound interaction with the customer.
    """
    # Per row of the page (a correlated subquery PostgreSQL evaluates after the LIMIT), not a
    # grouping of every outbound interaction in the store on each visit (issue 8 §3).
    last_outbound = (
        select(func.max(Interaction.occurred_at))
        .where(
            Interaction.customer_id == Customer.id,
            Interaction.direction == Direction.OUTBOUND,
        )
        .correlate(Customer)
        .scalar_subquery()
    )
    mine = (Customer.owner_id == owner_id, Customer.merged_into_id.is_(None))
    count = session.scalar(select(func.count()).select_from(Customer).where(*mine))
    # Scored customers first, read in CLV order from the scores' index (ix_customer_values_clv)
    # rather than sorting every customer of the owner; the unscored ones follow by id and are
    # read only when the page reaches them.
    columns = (
        Customer.id,
        Customer.name,
        CustomerValue.clv,
        CustomerValue.p_alive,
        CustomerValue.tier,
        CustomerValue.rfm_segment,
        last_outbound,
        Customer.external_id,
    )
    rows: list[Any] = list(
        session.execute(
            select(*columns)
            .select_from(CustomerValue)
            .join(Customer, Customer.id == CustomerValue.customer_id)
            .where(*mine)
            .order_by(CustomerValue.clv.desc(), Customer.id)
            .limit(limit)
            .offset(offset)
        ).all()
    )
    if len(rows) < limit:
        if rows or offset == 0:
            n_scored = offset + len(rows)
        else:  # a page past every scored customer
            n_scored = (
                session.scalar(
                    select(func.count())
                    .select_from(CustomerValue)
                    .join(Customer, Customer.id == CustomerValue.customer_id)
                    .where(*mine)
                )
                or 0
            )
        scored = select(CustomerValue.id).where(CustomerValue.customer_id == Customer.id)
        rows += session.execute(
            select(
                Customer.id,
                Customer.name,
                null(),
                null(),
                null(),
                null(),
                last_outbound,
                Customer.external_id,
            )
            .where(*mine, ~scored.exists())
            .order_by(Customer.id)
            .limit(limit - len(rows))
            .offset(max(0, offset - n_scored))
        ).all()
    now = utcnow()
    data = []
    for cid, name, clv, p_alive, tier, segment, at, external_id in rows:
        data.append(
            OwnerCustomer(
                customer_id=cid,
                name=name,
                external_id=external_id,
                clv=None if clv is None else Decimal(str(clv)).quantize(Decimal("0.01")),
                p_alive=p_alive,
                tier=tier,
                rfm_segment=segment,
                last_outbound_at=at,
                days_since_contact=None if at is None else max(0, (now - at).days),
            )
        )
    return data, int(count or 0)


#: What :func:`compute_dashboard_figures` computes: Pareto points, the share of customers whose
#: value share is marked (the "20" of 80/20), CLV histogram bins (log scale).
PARETO_POINTS = 50
PARETO_AT = 0.2
HISTOGRAM_BINS = 20


def compute_dashboard_figures(session: Session) -> DashboardFigures:
    """Compute what the value and home dashboards show from the scores and all orders.

    A value run stores these once it has written its scores (``ValueRun.dashboard_figures``);
    at a million customers this reads every score several times and every order (seconds on
    PostgreSQL), which is why page visits read the stored copy (:func:`dashboard_figures`).
    Aggregates only: no customer appears in them.
    """
    totals = order_totals(session)
    return DashboardFigures(
        computed_at=utcnow(),
        tiers=tier_summary(session),
        pareto=pareto_curve(session, PARETO_POINTS),
        pareto_at=PARETO_AT,
        pareto_share_at=pareto_share(session, PARETO_AT),
        histogram=clv_histogram(session, HISTOGRAM_BINS),
        orders=OrderFigures(
            n_orders=totals.n_orders, n_returns=totals.n_returns, revenue=totals.revenue
        ),
    )


def stored_dashboard_figures(run: ValueRun) -> DashboardFigures | None:
    """Return the dashboard figures ``run`` stored, or None (an older run, or a failed one).

    No query: the figures are a column of the run.
    """
    if not run.dashboard_figures:
        return None
    try:
        return DashboardFigures.model_validate(run.dashboard_figures)
    except ValidationError:  # a shape from another version: recompute rather than fail
        return None


def dashboard_figures(session: Session, run: ValueRun) -> DashboardFigures:
    """Return the dashboard figures of ``run`` (the latest successful run).

    Runs store them (:func:`stored_dashboard_figures`). A run recorded before they were stored
    gets them computed live (``stored`` False) and not written back: a page visit must not
    write (a read request's SQLite transaction cannot take the write lock safely, and
    concurrent visits would contend for the run's row); the next analysis stores them.
    """
    stored = stored_dashboard_figures(run)
    if stored is not None:
        return stored
    return compute_dashboard_figures(session).model_copy(update={"stored": False})


def value_tiers() -> Sequence[str]:
    """Return the tier codes, VIP first."""
    return [tier.value for tier in ValueTier]
