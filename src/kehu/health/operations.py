"""Writes of the relationship-health feature: runs and the latest stage and risk of customers.

Every function takes the session first and a keyword ``actor``, flushes but never commits, and
writes an audit row: the delivery layer (or the job's caller) owns the transaction.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, utcnow
from kehu.health.models import CustomerHealth, HealthRun, HealthRunStatus
from kehu.value.operations import close_run, open_run
from kehu.webhooks import emit_many

#: Keys of each row :func:`replace_customer_health` takes.
HEALTH_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "stage",
    "previous_stage",
    "churn_risk",
    "previous_risk",
    "p_alive",
    "evidence",
)


def start_health_run(session: Session, *, actor: Actor, window_days: int) -> HealthRun:
    """Record that a health analysis starts (status ``running``)."""
    run = HealthRun(status=HealthRunStatus.RUNNING, window_days=window_days)
    return open_run(session, run, actor=actor)


def finish_health_run(
    session: Session,
    run: HealthRun,
    *,
    actor: Actor,
    status: HealthRunStatus,
    message: str = "",
    **figures: Any,
) -> HealthRun:
    """Close a run as succeeded or failed, with its figures (columns of :class:`HealthRun`)."""
    return close_run(
        session,
        run,
        actor=actor,
        status=status,
        message=message,
        figures=figures,
        audit="health",
        counts=("n_customers", "n_tasks"),
        summary="{n_customers} customers staged",
    )


def replace_customer_health(
    session: Session, run: HealthRun, rows: Sequence[dict[str, Any]], *, actor: Actor
) -> int:
    """Replace every customer's health by ``rows`` (one dict per customer, :data:`HEALTH_COLUMNS`).

    Returns
    -------
    int
        The number of customers written.
    """
    now = utcnow()
    values = []
    for row in rows:
        missing = [name for name in HEALTH_COLUMNS if name not in row]
        if missing:
            raise ValueError(f"health rows lack the key(s) {', '.join(missing)}")
        values.append({**{k: row[k] for k in HEALTH_COLUMNS}, "run_id": run.id, "computed_at": now})
    session.execute(delete(CustomerHealth))
    for start in range(0, len(values), 1000):
        session.execute(insert(CustomerHealth), values[start : start + 1000])
    session.expire_all()  # the rows went in below the ORM
    record(
        session,
        actor=actor,
        action="health.scores_replace",
        object_type="health_run",
        object_id=run.id,
        summary=f"replaced the health of {len(values)} customers",
        changes={"n_customers": len(values)},
    )
    emit_many(
        session,
        "health.stage_changed",
        [
            {k: row[k] for k in ("customer_id", "stage", "previous_stage")}
            for row in values
            if row["previous_stage"] is not None and row["stage"] != row["previous_stage"]
        ],
    )
    return len(values)
