"""The console's main pages run a fixed number of SELECTs, however many rows (no N+1).

Each page also has a budget: the count it runs today. A change that adds a query to a page
read on every visit has to raise the budget here, on purpose (issue 8 §3).
"""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from kehu.customers import Customer
from kehu.users import find_user_by_email
from kehu.value import (
    ValueRunStatus,
    finish_value_run,
    replace_customer_values,
    store_dashboard_figures,
)
from tests.factories import ACTOR, make_customer, make_order, make_value_run

#: SELECTs per page (the session's user lookup included).
BUDGETS = {
    "/": 9,  # +1: the latest value run, whose stored figures it reads when there is one
    "/customers": 5,
    "/customers?q=customer": 5,
    "/customers?sort=revenue": 4,
    "/me/customers": 5,  # +1: unscored customers are read apart (none when scored fill the page)
    "/value": 10,
    "/health": 10,
    "/service": 8,
    "/relations": 5,
}


def _selects(connection, call):
    statements = []

    def remember(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", remember)
    try:
        response = call()
    finally:
        event.remove(connection, "before_cursor_execute", remember)
    assert response.status_code == 200, response.text[:500]
    return statements


def _add_buyers(session, owner, n):
    """Add n customers of ``owner`` with two orders each."""
    for _ in range(n):
        customer = make_customer(session, owner_id=owner.id)
        make_order(session, customer)
        make_order(session, customer)
    session.commit()


@pytest.mark.parametrize("path", list(BUDGETS))
def test_console_pages_keep_to_their_query_budget(admin_client, session, connection, path):
    admin = find_user_by_email(session, "admin@example.com")

    def grow(n):
        _add_buyers(session, admin, n)

    def fetch():
        return admin_client.get(path)

    grow(1)
    few = len(_selects(connection, fetch))
    grow(8)
    many = len(_selects(connection, fetch))

    assert many == few
    assert few <= BUDGETS[path], f"{path} runs {few} SELECTs, over its budget"


#: SELECTs per dashboard once a value run has stored its figures (issue 8 §3, the session's
#: user lookup included); none of them sums the scores or the orders.
SCORED_BUDGETS = {"/": 7, "/value": 5, "/me/customers": 5}


def _score_everyone(session):
    """Record a succeeded value run that scores every customer alike, with its figures."""
    ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
    n = len(ids)
    run = make_value_run(session)
    same = {
        "frequency": 1,
        "recency": 2.0,
        "t": 10.0,
        "monetary_value": Decimal("7.00"),
        "p_alive": 0.5,
        "expected_purchases": 1.5,
        "expected_spend": Decimal("7.00"),
        "tier": "low",
        "rfm_r": 3,
        "rfm_f": 3,
        "rfm_m": 3,
        "rfm_segment": "loyal",
        "total_spend": Decimal("14.00"),
        "last_purchase_on": date(2010, 3, 1),
    }
    columns = {name: [value] * n for name, value in same.items()}
    columns |= {
        "customer_id": ids,
        "clv": [Decimal(10 + i) for i in range(n)],
        "value_rank": list(range(n, 0, -1)),
        "value_percentile": [100.0 * (i + 1) / n for i in range(n)],
    }
    replace_customer_values(session, run, columns, actor=ACTOR)
    finish_value_run(session, run, actor=ACTOR, status=ValueRunStatus.SUCCEEDED, n_scored=n)
    store_dashboard_figures(session, run)
    session.commit()


@pytest.mark.parametrize("path", list(SCORED_BUDGETS))
def test_dashboards_read_the_figures_a_value_run_stored(admin_client, session, connection, path):
    admin = find_user_by_email(session, "admin@example.com")

    def grow(n):
        _add_buyers(session, admin, n)
        _score_everyone(session)

    grow(1)
    few = _selects(connection, lambda: admin_client.get(path))
    grow(8)
    many = _selects(connection, lambda: admin_client.get(path))

    assert len(many) == len(few)
    tables = [" ".join(s.split("FROM", 1)[-1].split()[:1]) for s in few]
    assert len(few) <= SCORED_BUDGETS[path], f"{path} runs {len(few)} SELECTs: {tables}"
    assert not [s for s in many if "sum(" in s.lower()]
    assert not [s for s in many if re.search(r"\bFROM orders\b", s)]
