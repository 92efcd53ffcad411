"""List endpoints and the 360 view run a fixed number of SELECTs, however many rows (no N+1)."""

import pytest
from sqlalchemy import event

from kehu.engagement import log_interaction
from kehu.users import _token_cache as token_cache
from tests.factories import ACTOR, make_customer, make_order


def _count_selects(connection, call):
    statements = []

    def remember(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    # Every measured request checks its token in the database (a cached token, trusted for a
    # couple of seconds, would make the count depend on how fast the test runs).
    token_cache.forget_all()
    event.listen(connection, "before_cursor_execute", remember)
    try:
        response = call()
    finally:
        event.remove(connection, "before_cursor_execute", remember)
    assert response.status_code == 200, response.text
    return len(statements)


@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/orders", "/api/v1/customers/{c}"])
def test_selects_do_not_grow_with_rows(client, admin, session, connection, path):
    first = make_customer(session)

    def grow(n):
        for _ in range(n):
            customer = make_customer(session)
            make_order(session, first)
            make_order(session, customer)
            log_interaction(
                session,
                customer_id=first.id,
                channel="phone",
                direction="inbound",
                occurred_at=first.created_at,
                actor=ACTOR,
            )
        session.commit()

    def fetch():
        return client.get(path.format(c=first.id), headers=admin)

    grow(1)
    few = _count_selects(connection, fetch)
    grow(8)
    many = _count_selects(connection, fetch)

    assert few >= 3  # token lookup, count, page
    assert many == few
