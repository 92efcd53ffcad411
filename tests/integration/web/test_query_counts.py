"""The console's main pages run a fixed number of SELECTs, however many rows (no N+1).

Each page also has a budget: the count it runs today. A change that adds a query to a page
read on every visit has to raise the budget here, on purpose (issue 8 §3).
"""

import pytest
from sqlalchemy import event

from kehu.users import find_user_by_email
from tests.factories import make_customer, make_order

#: SELECTs per page (the session's user lookup included).
BUDGETS = {
    "/": 8,
    "/customers": 5,
    "/customers?q=customer": 5,
    "/customers?sort=revenue": 4,
    "/me/customers": 4,
    "/value": 10,
    "/health": 10,
    "/service": 8,
    "/relations": 5,
}


def _count_selects(connection, call):
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
    return len(statements)


@pytest.mark.parametrize("path", list(BUDGETS))
def test_console_pages_keep_to_their_query_budget(admin_client, session, connection, path):
    admin = find_user_by_email(session, "admin@example.com")

    def grow(n):
        for _ in range(n):
            customer = make_customer(session, owner_id=admin.id)
            make_order(session, customer)
            make_order(session, customer)
        session.commit()

    def fetch():
        return admin_client.get(path)

    grow(1)
    few = _count_selects(connection, fetch)
    grow(8)
    many = _count_selects(connection, fetch)

    assert many == few
    assert few <= BUDGETS[path], f"{path} runs {few} SELECTs, over its budget"
