"""List counts under a record-level scope stop at a bound; an administrator's stay exact."""

import pytest

from kehu.store import counts as counts_module
from tests.factories import make_customer, make_order

CUSTOMERS = "/api/v1/customers"
ORDERS = "/api/v1/orders"


@pytest.fixture
def owned(session, staff, monkeypatch):
    """Four customers of the owner with an order each, one customer of nobody; bound 2."""
    monkeypatch.setattr(counts_module, "COUNT_LIMIT", 2)
    owner = staff["owner"].user
    mine = [make_customer(session, name=f"Mine {i}", owner_id=owner.id) for i in range(4)]
    for customer in mine:
        make_order(session, customer)
    make_customer(session, name="Not mine", owner_id=None)
    session.commit()
    return mine


@pytest.mark.parametrize("path", [CUSTOMERS, ORDERS])
def test_a_scoped_count_stops_past_the_bound(client, staff, owned, path):
    response = client.get(path, params={"limit": 1}, headers=staff["owner"].headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["data"]) == 1
    assert body["count"] == 3  # counting stopped one past the bound of 2: "more than 2"
    assert body["count_is_exact"] is False


@pytest.mark.parametrize("path", [CUSTOMERS, ORDERS])
def test_a_page_past_the_bound_counts_up_to_itself(client, staff, owned, path):
    response = client.get(path, params={"limit": 2, "offset": 2}, headers=staff["owner"].headers)

    body = response.json()
    assert len(body["data"]) == 2
    assert body["count"] == 4
    assert body["count_is_exact"] is True


@pytest.mark.parametrize("path", [CUSTOMERS, ORDERS])
def test_an_administrator_counts_exactly(client, admin, owned, path):
    response = client.get(path, params={"limit": 1}, headers=admin)

    body = response.json()
    assert body["count"] == (5 if path == CUSTOMERS else 4)
    assert body["count_is_exact"] is True


def test_the_field_is_documented(client):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]

    for name in ("CustomersPublic", "OrdersPublic", "ValuedCustomersPublic", "HealthListPublic"):
        assert "count_is_exact" in schemas[name]["properties"], name
        assert schemas[name]["properties"]["count_is_exact"]["description"]
