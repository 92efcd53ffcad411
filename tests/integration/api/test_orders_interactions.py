from datetime import UTC, datetime

import pytest

from kehu.commerce import Order
from kehu.engagement import Interaction
from tests.factories import make_customer, make_order
from tests.factories.service import make_ticket

ORDERS = "/api/v1/orders"


@pytest.fixture
def history(session):
    ada = make_customer(session, name="Ada")
    alan = make_customer(session, name="Alan")
    orders = [
        make_order(session, ada, external_id="O-1", ordered_at=datetime(2010, 1, 5, tzinfo=UTC)),
        make_order(session, ada, external_id="O-2", ordered_at=datetime(2010, 2, 5, tzinfo=UTC)),
        make_order(session, alan, external_id="O-3", ordered_at=datetime(2010, 3, 5, tzinfo=UTC)),
    ]
    session.commit()
    return ada, alan, orders


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({}, ["O-3", "O-2", "O-1"], id="all_case"),
        pytest.param({"customer_id": "ada"}, ["O-2", "O-1"], id="customer_case"),
        pytest.param({"since": "2010-02-01"}, ["O-3", "O-2"], id="since_date_case"),
        pytest.param({"until": "2010-02-05T00:00:00+00:00"}, ["O-1"], id="until_case"),
        pytest.param(
            {"since": "2010-02-05T09:00:00+09:00", "until": "2010-03-01T00:00:00"},
            ["O-2"],
            id="offset_and_naive_case",
        ),
        pytest.param({"limit": 1, "offset": 1}, ["O-2"], id="page_case"),
    ],
)
def test_list_orders_filters(client, admin, history, params, expected):
    ada = history[0]
    params = {k: ada.id if v == "ada" else v for k, v in params.items()}

    response = client.get(ORDERS, params=params, headers=admin)

    assert response.status_code == 200, response.text
    assert [o["external_id"] for o in response.json()["data"]] == expected
    if "limit" not in params:
        assert response.json()["count"] == len(expected)


def test_read_order_with_lines(client, admin, history):
    order = history[2][0]

    response = client.get(f"{ORDERS}/{order.id}", headers=admin)

    assert response.status_code == 200
    body = response.json()
    assert body["external_id"] == "O-1"
    assert body["ordered_at"] == "2010-01-05T00:00:00Z"
    assert body["total"] == {"amount": "7.00", "currency": "GBP"}
    assert len(body["lines"]) == 1
    assert body["lines"][0]["quantity"] == 2
    assert body["lines"][0]["unit_price"] == {"amount": "3.50", "currency": "GBP"}
    assert client.get(f"{ORDERS}/987654", headers=admin).status_code == 404


def test_create_order_and_return(client, session, staff, history):
    ada = history[0]
    make_ticket(session, customer_id=ada.id)  # the agent sees the customers of its tickets
    session.commit()
    headers = staff["agent"].headers
    body = {
        "external_id": "WEB-1",
        "customer_id": ada.id,
        "ordered_at": "2010-06-01T12:00:00+02:00",
        "currency": "EUR",
        "lines": [
            {"sku": "S9", "quantity": 3, "unit_price": "1.10", "name": "Pen"},
            {"sku": "S8", "quantity": 1, "unit_price": "5", "discount": "0.50"},
        ],
    }

    created = client.post(ORDERS, json=body, headers=headers)
    duplicate = client.post(ORDERS, json=body, headers=headers)
    returned = client.post(
        ORDERS,
        json={
            "external_id": "WEB-1R",
            "customer_id": ada.id,
            "ordered_at": "2010-06-03T00:00:00Z",
            "lines": [{"sku": "S9", "quantity": -1, "unit_price": "1.10"}],
        },
        headers=headers,
    )

    assert created.status_code == 201, created.text
    order = created.json()
    assert order["ordered_at"] == "2010-06-01T10:00:00Z"
    assert order["total"] == {"amount": "7.80", "currency": "EUR"}
    assert [(line["sku"], line["product_name"]) for line in order["lines"]] == [
        ("S9", "Pen"),
        ("S8", ""),
    ]
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "commerce.duplicate_order"
    assert returned.status_code == 201
    assert returned.json()["kind"] == "return"
    assert returned.json()["total"] == {"amount": "-1.10", "currency": "GBP"}
    session.expire_all()
    assert session.query(Order).count() == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"customer_id": 987654}, "customer_id: there is no customer", id="no_customer"
        ),
        pytest.param({"lines": []}, "lines", id="no_lines_case"),
        pytest.param(
            {
                "lines": [
                    {"sku": "A", "quantity": 1, "unit_price": "1"},
                    {"sku": "B", "quantity": -1, "unit_price": "1"},
                ]
            },
            "cannot mix sold and returned",
            id="mixed_case",
        ),
        pytest.param(
            {"lines": [{"sku": "A", "quantity": 1, "unit_price": "1.005"}]},
            "decimal places",
            id="fractional_cents_case",
        ),
        pytest.param(
            {"lines": [{"sku": "A", "quantity": 1, "unit_price": "1e30"}]},
            "unit_price",
            id="enormous_price_case",
        ),
        pytest.param({"currency": "pounds"}, "currency", id="bad_currency_case"),
        pytest.param({"ordered_at": "01/06/2010"}, "ordered_at", id="bad_date_case"),
    ],
)
def test_bad_orders_are_422_and_store_nothing(client, admin, session, history, change, message):
    body = {
        "external_id": "BAD-1",
        "ordered_at": "2010-06-01T12:00:00Z",
        "lines": [{"sku": "S9", "quantity": 1, "unit_price": "1.10"}],
        **change,
    }

    response = client.post(ORDERS, json=body, headers=admin)

    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    session.expire_all()
    assert session.query(Order).count() == 3


def test_interactions_are_logged_by_the_caller_and_listed(client, session, staff, history):
    ada, alan, _ = history
    owner = staff["owner"]
    ada.owner_id = alan.owner_id = owner.user.id  # owners see their own customers
    session.commit()

    logged = client.post(
        "/api/v1/interactions",
        json={
            "customer_id": ada.id,
            "channel": " WeChat ",
            "direction": "outbound",
            "occurred_at": "2010-04-01T08:00:00Z",
            "subject": "Birthday wishes",
            "external_id": "wx-1",
        },
        headers=owner.headers,
    )
    client.post(
        "/api/v1/interactions",
        json={
            "customer_id": alan.id,
            "channel": "phone",
            "direction": "inbound",
            "occurred_at": "2010-04-02T08:00:00Z",
        },
        headers=owner.headers,
    )

    assert logged.status_code == 201, logged.text
    assert logged.json()["channel"] == "wechat"
    assert logged.json()["user_id"] == owner.user.id
    listed = client.get(
        "/api/v1/interactions", params={"customer_id": ada.id}, headers=owner.headers
    ).json()
    assert listed["count"] == 1
    assert listed["data"][0]["subject"] == "Birthday wishes"
    everything = client.get("/api/v1/interactions", headers=owner.headers).json()
    assert [i["customer_id"] for i in everything["data"]] == [alan.id, ada.id]
    duplicate = client.post(
        "/api/v1/interactions",
        json={
            "customer_id": ada.id,
            "channel": "phone",
            "direction": "inbound",
            "occurred_at": "2010-04-01T08:00:00Z",
            "external_id": "wx-1",
        },
        headers=owner.headers,
    )
    assert duplicate.status_code == 409
    unknown = client.post(
        "/api/v1/interactions",
        json={
            "customer_id": 987654,
            "channel": "phone",
            "direction": "sideways",
            "occurred_at": "2010-04-01T08:00:00Z",
        },
        headers=owner.headers,
    )
    assert unknown.status_code == 422
    assert "direction" in unknown.json()["detail"]
    session.expire_all()
    assert session.query(Interaction).count() == 2
