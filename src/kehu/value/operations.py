"""Writes of the customer-value feature: runs, scores, and the owners of VIP customers.

Every function takes the session first and a keyword ``actor``, flushes but never commits, and
writes audit rows: the delivery layer (or the job's caller) owns the transaction.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, utcnow
from kehu.customers import Customer, update_customer
from kehu.store.bulk import insert_rows
from kehu.users import Role, User
from kehu.value.models import CustomerValue, ValueRun, ValueRunStatus, ValueTier
from kehu.value.queries import compute_dashboard_figures
from kehu.value.schemas import DashboardFigures

#: An analysis run (:class:`ValueRun`, ``kehu.health.HealthRun``...): status, started/finished
#: at and by, metrics and message.
RunT = TypeVar("RunT")

#: Columns of :class:`CustomerValue` a run writes (the id is the store's).
SCORE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "run_id",
    "frequency",
    "recency",
    "t",
    "monetary_value",
    "p_alive",
    "expected_purchases",
    "expected_spend",
    "clv",
    "value_rank",
    "value_percentile",
    "tier",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_segment",
    "total_spend",
    "last_purchase_on",
    "computed_at",
)


def open_run(session: Session, run: RunT, *, actor: Actor) -> RunT:
    """Stamp a new analysis run (value, health...) as started by ``actor`` and store it.

    ``run`` comes with its status (``running``) and its own columns set; this sets when and by
    whom it started, empty metrics and message, and flushes.
    """
    row: Any = run  # any run model: the columns are the same by name
    row.started_at = utcnow()
    row.started_by = actor.label
    row.metrics = {}
    row.message = ""
    session.add(row)
    session.flush()
    return run


def close_run(
    session: Session,
    run: RunT,
    *,
    actor: Actor,
    status: StrEnum,
    message: str,
    figures: Mapping[str, Any],
    audit: str,
    counts: Sequence[str],
    summary: str,
) -> RunT:
    """Close an analysis run as succeeded or failed, with its figures, and audit it.

    Parameters
    ----------
    figures
        Columns of the run to set (``n_scored``, ``metrics``...); an unknown name raises.
    audit
        The audit action's prefix (``value`` gives ``value.run_succeeded``...); the object type
        is ``<audit>_run``.
    counts
        Columns whose values the audit row keeps (with the status).
    summary
        The audit summary when there is no message, formatted with ``counts``
        (``"{n_scored} customers scored"``).
    """
    row: Any = run  # any run model: the columns are the same by name
    for name, value in figures.items():
        if not hasattr(type(row), name):
            raise AttributeError(f"{type(row).__name__} has no column {name}")
        setattr(row, name, value)
    row.status = status
    row.message = message
    row.finished_at = utcnow()
    session.flush()
    numbers = {name: getattr(row, name) for name in counts}
    record(
        session,
        actor=actor,
        action=f"{audit}.run_{status.value}",
        object_type=f"{audit}_run",
        object_id=row.id,
        summary=(message or summary.format(**numbers))[:500],
        changes={**numbers, "status": status.value},
    )
    return run


def start_value_run(
    session: Session,
    *,
    actor: Actor,
    horizon_weeks: int,
    discount_rate_annual: float,
    vip_share: float,
    currency: str,
) -> ValueRun:
    """Record that an analysis starts (status ``running``)."""
    run = ValueRun(
        status=ValueRunStatus.RUNNING,
        horizon_weeks=horizon_weeks,
        discount_rate_annual=discount_rate_annual,
        vip_share=vip_share,
        currency=currency,
        parameters={},
    )
    return open_run(session, run, actor=actor)


def finish_value_run(
    session: Session,
    run: ValueRun,
    *,
    actor: Actor,
    status: ValueRunStatus,
    message: str = "",
    **figures: Any,
) -> ValueRun:
    """Close a run as succeeded or failed, with its figures, and audit it.

    Parameters
    ----------
    figures
        Columns of :class:`ValueRun` to set (``n_scored``, ``parameters``, ``metrics``...).
    """
    return close_run(
        session,
        run,
        actor=actor,
        status=status,
        message=message,
        figures=figures,
        audit="value",
        counts=("n_scored", "n_vip"),
        summary="{n_scored} customers scored",
    )


def replace_customer_values(
    session: Session, run: ValueRun, columns: Mapping[str, Sequence[Any]], *, actor: Actor
) -> int:
    """Replace every customer's scores by those of ``run``, in bulk.

    Parameters
    ----------
    columns
        One sequence per name of :data:`SCORE_COLUMNS` except ``run_id`` and ``computed_at``
        (money as ``Decimal``, dates as ``date``), all of the same length.

    Returns
    -------
    int
        The number of customers scored.
    """
    names = [name for name in SCORE_COLUMNS if name not in ("run_id", "computed_at")]
    missing = [name for name in names if name not in columns]
    if missing:
        raise ValueError(f"scores lack the column(s) {', '.join(missing)}")
    n = len(columns["customer_id"])
    now = utcnow()
    rows = zip(*(columns[name] for name in names), [run.id] * n, [now] * n, strict=True)
    session.execute(delete(CustomerValue))
    table: Table = CustomerValue.__table__  # type: ignore[assignment]  # a Table at run time
    insert_rows(session, table, [*names, "run_id", "computed_at"], rows)
    session.expire_all()  # the rows went in below the ORM
    record(
        session,
        actor=actor,
        action="value.scores_replace",
        object_type="value_run",
        object_id=run.id,
        summary=f"replaced the value scores of {n} customers",
        changes={"n_customers": n},
    )
    return n


def store_dashboard_figures(session: Session, run: ValueRun) -> DashboardFigures:
    """Compute the dashboards' figures from the current scores and orders and store them on ``run``.

    ``kehu.jobs.value`` computes the same figures once a run's scores are in and closes the
    run with them (its audit row covers them); this stores them for a run that has none (a
    run recorded before they were kept, a benchmark's synthetic run). Aggregates only, so
    per-user scoping of customer lists does not apply to them.
    """
    figures = compute_dashboard_figures(session)
    run.dashboard_figures = figures.model_dump(mode="json")
    session.flush()
    return figures


# ---------------------------------------------------------------- owners of VIP customers


@dataclass(frozen=True)
class OwnerChange:
    """One customer who changed owner."""

    customer_id: int
    old_owner_id: int | None
    new_owner_id: int | None


@dataclass(frozen=True)
class OwnerAssignment:
    """What an assignment did."""

    n_owners: int
    n_considered: int
    n_kept: int
    n_assigned: int
    n_unassigned: int
    changes: list[OwnerChange] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the figures (without the list of changes) as JSON-ready data."""
        return {
            "n_owners": self.n_owners,
            "n_considered": self.n_considered,
            "n_kept": self.n_kept,
            "n_assigned": self.n_assigned,
            "n_unassigned": self.n_unassigned,
            "n_changes": len(self.changes),
            "message": self.message,
        }


def _eligible_owner_ids(session: Session, *, excluding: int | None = None) -> list[int]:
    query = select(User.id).where(User.role == Role.OWNER, User.is_active.is_(True))
    if excluding is not None:
        query = query.where(User.id != excluding)
    return list(session.scalars(query.order_by(User.id)))


def _owner_loads(session: Session, owner_ids: Sequence[int]) -> dict[int, list[float]]:
    """Return ``{owner id: [customers owned, their predicted CLV]}`` (active customers)."""
    loads = {owner_id: [0.0, 0.0] for owner_id in owner_ids}
    if not owner_ids:
        return loads
    query = (
        select(Customer.owner_id, func.count(), func.coalesce(func.sum(CustomerValue.clv), 0))
        .select_from(Customer)
        .outerjoin(CustomerValue, CustomerValue.customer_id == Customer.id)
        .where(Customer.owner_id.in_(owner_ids), Customer.merged_into_id.is_(None))
        .group_by(Customer.owner_id)
    )
    for owner_id, count, clv in session.execute(query):
        if owner_id is not None:
            loads[owner_id] = [float(count), float(clv)]
    return loads


def _balance(
    session: Session,
    customers: Sequence[tuple[int, int | None, float]],
    owner_ids: Sequence[int],
    *,
    actor: Actor,
) -> list[OwnerChange]:
    """Give each of ``customers`` (id, current owner, clv; most valuable first) an owner.

    Greedy balancing: each customer goes to the owner with the smallest load, where load is
    ``customers / all customers + CLV / all CLV`` (existing portfolios plus those being
    assigned), ties to the lower user id. Every change goes through
    :func:`kehu.customers.update_customer`, which audits it.
    """
    loads = _owner_loads(session, owner_ids)
    total_n = sum(load[0] for load in loads.values()) + len(customers)
    total_v = sum(load[1] for load in loads.values()) + sum(max(c[2], 0.0) for c in customers)
    total_n = total_n or 1.0
    total_v = total_v or 1.0
    wanted: dict[int, int] = {}
    for customer_id, _old, clv in customers:
        owner_id = min(owner_ids, key=lambda o: (loads[o][0] / total_n + loads[o][1] / total_v, o))
        loads[owner_id][0] += 1
        loads[owner_id][1] += max(clv, 0.0)
        wanted[customer_id] = owner_id
    return _apply_owners(session, wanted, actor=actor)


def _apply_owners(
    session: Session, wanted: Mapping[int, int | None], *, actor: Actor
) -> list[OwnerChange]:
    changes = []
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.scalars(select(Customer).where(Customer.id.in_(chunk)).order_by(Customer.id))
        for customer in rows:
            old = customer.owner_id
            if update_customer(session, customer, actor=actor, owner_id=wanted[customer.id]):
                changes.append(OwnerChange(customer.id, old, wanted[customer.id]))
    return changes


def assign_vip_owners(session: Session, *, actor: Actor) -> OwnerAssignment:
    """Make sure every VIP customer (of the latest scores) has an active owner.

    A VIP keeps their owner while that owner is an active user with the owner role; the
    others are spread over the active owners by :func:`_balance` (most valuable first).
    Customers who leave the VIP tier keep their owner. Without any active owner user the VIPs
    stay as they are and the returned message says so.
    """
    owner_ids = _eligible_owner_ids(session)
    vips = session.execute(
        select(CustomerValue.customer_id, Customer.owner_id, CustomerValue.clv)
        .join(Customer, Customer.id == CustomerValue.customer_id)
        .where(CustomerValue.tier == ValueTier.VIP, Customer.merged_into_id.is_(None))
        .order_by(CustomerValue.value_rank, CustomerValue.customer_id)
    ).all()
    eligible = set(owner_ids)
    need = [(cid, owner, float(clv)) for cid, owner, clv in vips if owner not in eligible]
    n_kept = len(vips) - len(need)
    if not owner_ids:
        return OwnerAssignment(
            n_owners=0,
            n_considered=len(vips),
            n_kept=n_kept,
            n_assigned=0,
            n_unassigned=len(need),
            message=(
                f"No active user has the owner role, so {len(need)} VIP customer(s) have no "
                "owner; create owners with `kehu users create EMAIL --role owner`."
                if need
                else ""
            ),
        )
    changes = _balance(session, need, owner_ids, actor=actor)
    return OwnerAssignment(
        n_owners=len(owner_ids),
        n_considered=len(vips),
        n_kept=n_kept,
        n_assigned=len(changes),
        n_unassigned=0,
        changes=changes,
    )


def reassign_customers_of(session: Session, user_id: int, *, actor: Actor) -> OwnerAssignment:
    """Hand the customers of ``user_id`` (e.g. a deactivated owner) to the other owners.

    Active, not merged customers owned by ``user_id`` are spread over the other active owner
    users, most valuable first, balanced by load as in :func:`assign_vip_owners`. With no
    other owner they are left without an owner (so nobody believes they are looked after).
    Every change is audited.
    """
    mine = session.execute(
        select(Customer.id, Customer.owner_id, func.coalesce(CustomerValue.clv, 0))
        .outerjoin(CustomerValue, CustomerValue.customer_id == Customer.id)
        .where(Customer.owner_id == user_id, Customer.merged_into_id.is_(None))
        .order_by(func.coalesce(CustomerValue.clv, 0).desc(), Customer.id)
    ).all()
    customers = [(cid, owner, float(clv)) for cid, owner, clv in mine]
    owner_ids = _eligible_owner_ids(session, excluding=user_id)
    if not customers:
        return OwnerAssignment(len(owner_ids), 0, 0, 0, 0)
    if not owner_ids:
        changes = _apply_owners(session, {cid: None for cid, _, _ in customers}, actor=actor)
        return OwnerAssignment(
            n_owners=0,
            n_considered=len(customers),
            n_kept=0,
            n_assigned=0,
            n_unassigned=len(changes),
            changes=changes,
            message=(
                f"No other active owner: {len(changes)} customer(s) of user {user_id} now "
                "have no owner."
            ),
        )
    changes = _balance(session, customers, owner_ids, actor=actor)
    return OwnerAssignment(
        n_owners=len(owner_ids),
        n_considered=len(customers),
        n_kept=0,
        n_assigned=len(changes),
        n_unassigned=0,
        changes=changes,
    )


def reassign_customers_of_inactive_owners(session: Session, *, actor: Actor) -> OwnerAssignment:
    """Run :func:`reassign_customers_of` for every inactive user who still owns customers."""
    inactive = list(
        session.scalars(
            select(User.id)
            .join(Customer, Customer.owner_id == User.id)
            .where(User.is_active.is_(False), Customer.merged_into_id.is_(None))
            .distinct()
            .order_by(User.id)
        )
    )
    results = [reassign_customers_of(session, user_id, actor=actor) for user_id in inactive]
    changes = [change for result in results for change in result.changes]
    return OwnerAssignment(
        n_owners=max((r.n_owners for r in results), default=0),
        n_considered=sum(r.n_considered for r in results),
        n_kept=0,
        n_assigned=sum(r.n_assigned for r in results),
        n_unassigned=sum(r.n_unassigned for r in results),
        changes=changes,
        message=" ".join(r.message for r in results if r.message),
    )


def money(value: float) -> Decimal:
    """Return ``value`` as a Decimal rounded to cents (how scores store money)."""
    return Decimal(repr(round(float(value), 2))).quantize(Decimal("0.01"))
