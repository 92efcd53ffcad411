"""Health factories: a store holding 60 real Online Retail II customers, with value scores.

``stock_health_slice`` imports every row of tests/data/health/ (the health analysis' real
input), makes owners and stores value scores as the value analysis would.
"""

import datetime as dt
from pathlib import Path

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.analytics.health import normalise_lines, p_alive_for
from kehu.commerce import Order
from kehu.ingest import run_import
from kehu.jobs.health import load_health_lines
from kehu.users import Role
from kehu.value import (
    ValueRunStatus,
    ValueTier,
    assign_vip_owners,
    finish_value_run,
    money,
    replace_customer_values,
)
from tests.factories import ACTOR, make_user, make_value_run

SLICE = (
    Path(__file__).resolve().parents[1] / "data" / "health" / "online_retail_ii_health_slice.csv"
)
AS_OF = dt.date(2010, 12, 9)


def store_value_scores(session: Session) -> None:
    """Store value scores as the value analysis would: CLV, P(alive), tiers, VIP owners.

    The value job itself is not run here: on PostgreSQL it cannot store a BG/NBD fit whose
    dropout the data do not identify (``a = Infinity`` is not valid JSON there), which is
    the case for this Online Retail II slice. The scores come from the same real orders: CLV
    is the customer's net spend, P(alive) the BG/NBD's, tiers the top 20 % by CLV.
    """
    customers = session.execute(
        select(Order.customer_id, func.sum(Order.total), func.count(), func.max(Order.ordered_at))
        .where(Order.customer_id.is_not(None))
        .group_by(Order.customer_id)
        .order_by(func.sum(Order.total).desc(), Order.customer_id)
    ).all()
    lines = normalise_lines(
        load_health_lines(session, until=dt.datetime(2011, 1, 1, tzinfo=dt.UTC))
    )
    ids = pa.array([str(c) for c, *_ in customers])
    p_alive = p_alive_for(lines, AS_OF, ids)
    n = len(customers)
    run = make_value_run(session)
    columns = {
        "customer_id": [c for c, *_ in customers],
        "frequency": [k - 1 for _, _, k, _ in customers],
        "recency": [1.0] * n,
        "t": [2.0] * n,
        "monetary_value": [money(float(total) / k) for _, total, k, _ in customers],
        "p_alive": p_alive.tolist(),
        "expected_purchases": [1.0] * n,
        "expected_spend": [money(float(total) / k) for _, total, k, _ in customers],
        "clv": [money(float(total)) for _, total, _, _ in customers],
        "value_rank": list(range(1, n + 1)),
        "value_percentile": [100.0 * (n - i) / n for i in range(n)],
        "tier": [ValueTier.VIP if i < n // 5 else ValueTier.LOW for i in range(n)],
        "rfm_r": [3] * n,
        "rfm_f": [3] * n,
        "rfm_m": [3] * n,
        "rfm_segment": ["need_attention"] * n,
        "total_spend": [money(float(total)) for _, total, _, _ in customers],
        "last_purchase_on": [last.date() for *_, last in customers],
    }
    replace_customer_values(session, run, columns, actor=ACTOR)
    assign_vip_owners(session, actor=ACTOR)
    finish_value_run(
        session,
        run,
        actor=ACTOR,
        status=ValueRunStatus.SUCCEEDED,
        n_scored=n,
        observation_end=AS_OF,
    )


def stock_health_slice(session: Session, *, owners: bool = True) -> None:
    """Import the slice, make owners, store value scores (VIPs get owners)."""
    if owners:
        make_user(session, Role.OWNER, email="owner1@example.com")
        make_user(session, Role.OWNER, email="owner2@example.com")
    run = run_import(
        session, kind="orders", data=SLICE.read_bytes(), filename="slice.csv", actor=ACTOR
    )
    assert run.n_errors == 0
    store_value_scores(session)
    session.commit()
