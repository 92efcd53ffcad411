"""The customer list: order figures per row in one grouped query, sorting, labels."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event

from kehu.commerce import LineInput
from kehu.commerce.stats import (
    CustomerSort,
    list_customers_sorted,
    summarise_customer_orders,
)
from kehu.customers import CustomerFilter
from tests.factories import make_customer, make_order


def _line(price: str, quantity: int = 1) -> list[LineInput]:
    return [LineInput(sku="SKU1", quantity=quantity, unit_price=Decimal(price))]


@pytest.fixture
def shop(session):
    """Three customers: a big buyer, a recent small buyer with a return, one with no orders."""
    big = make_customer(session, name=None, external_id="16684", identities=[])
    small = make_customer(session, name="Anna Small", external_id="12001", identities=[])
    idle = make_customer(session, name="Bo Idle", identities=[])
    make_order(session, big, ordered_at=datetime(2010, 5, 1, tzinfo=UTC), lines=_line("100.00", 3))
    make_order(session, big, ordered_at=datetime(2010, 6, 2, tzinfo=UTC), lines=_line("49.95"))
    make_order(session, small, ordered_at=datetime(2010, 11, 3, tzinfo=UTC), lines=_line("20.00"))
    make_order(
        session, small, ordered_at=datetime(2010, 11, 9, tzinfo=UTC), lines=_line("5.00", -1)
    )
    session.commit()
    return {"big": big, "small": small, "idle": idle}


def _rows(html: str) -> list[dict[str, str]]:
    rows = []
    for row in re.findall(r'<tr data-testid="customer-row".*?</tr>', html, re.S):
        cells = {}
        for name in (
            "customer-label",
            "customer-orders",
            "customer-revenue",
            "customer-last-order",
        ):
            match = re.search(rf'data-testid="{name}">(.*?)</(?:a|td)>', row, re.S)
            assert match, name
            cells[name] = " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())
        rows.append(cells)
    return rows


def test_summaries_have_exact_figures(session, shop):
    summaries = summarise_customer_orders(session, [c.id for c in shop.values()])

    big, small, idle = (summaries[shop[k].id] for k in ("big", "small", "idle"))
    assert (big.n_orders, big.revenue, big.currency) == (2, Decimal("349.95"), "GBP")
    assert big.last_order_at.date().isoformat() == "2010-06-02"
    # a return is no order but lowers the net revenue: 20.00 - 5.00
    assert (small.n_orders, small.revenue, small.currency) == (1, Decimal("15.00"), "GBP")
    assert small.last_order_at.date().isoformat() == "2010-11-09"
    assert (idle.n_orders, idle.revenue, idle.currency, idle.last_order_at) == (
        0,
        Decimal("0.00"),
        None,
        None,
    )
    assert summarise_customer_orders(session, []) == {}


def test_list_shows_number_orders_revenue_and_last_order(admin_client, shop):
    html = admin_client.get("/customers").text

    assert _rows(html) == [
        {
            "customer-label": "#16684",
            "customer-orders": "2",
            "customer-revenue": "349.95 GBP",
            "customer-last-order": "2010-06-02",
        },
        {
            "customer-label": "Anna Small",
            "customer-orders": "1",
            "customer-revenue": "15.00 GBP",
            "customer-last-order": "2010-11-09",
        },
        {
            "customer-label": "Bo Idle",
            "customer-orders": "0",
            "customer-revenue": "\u2013",
            "customer-last-order": "\u2013",
        },
    ]
    assert "#12001" in html  # a named customer's number is shown beside the name


def test_customer_without_name_or_number_gets_a_fallback_label(admin_client, session):
    nobody = make_customer(session, name=None, identities=[])
    session.commit()

    rows = _rows(admin_client.get("/customers").text)

    assert rows[0]["customer-label"] == f"Customer {nobody.id}"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("revenue", ["#16684", "Anna Small", "Bo Idle"]),
        ("last_order", ["Anna Small", "#16684", "Bo Idle"]),
        ("name", ["#16684", "Anna Small", "Bo Idle"]),
        ("bogus'; drop table customers", ["#16684", "Anna Small", "Bo Idle"]),
        ("", ["#16684", "Anna Small", "Bo Idle"]),
    ],
)
def test_sorts_by_whitelisted_keys_only(admin_client, shop, sort, expected):
    page = admin_client.get("/customers", params={"sort": sort})

    assert page.status_code == 200
    assert [row["customer-label"] for row in _rows(page.text)] == expected


def test_sort_survives_paging_and_the_search_partial(admin_client, shop):
    page = admin_client.get(
        "/customers",
        params={"sort": "last_order", "q": "small"},
        headers={"HX-Request": "true", "HX-Target": "customer-results"},
    )

    assert page.status_code == 200
    assert "<html" not in page.text
    assert 'name="sort" value="last_order" form="customer-filters"' in page.text
    assert 'aria-sort="descending"' in page.text
    assert [row["customer-label"] for row in _rows(page.text)] == ["Anna Small"]
    revenue_link = re.search(
        r'href="([^"]*)"\s+hx-get="[^"]*"[^>]*data-testid="sort-revenue"', page.text
    )
    assert revenue_link.group(1) == "/customers?sort=revenue&amp;q=small"


def test_sorted_list_pages_and_counts(session, shop):
    rows, total = list_customers_sorted(
        session, CustomerFilter(), sort=CustomerSort.REVENUE, limit=2, offset=1
    )

    assert total == 3
    assert [row.id for row in rows] == [shop["small"].id, shop["idle"].id]


def test_sort_parse_falls_back_to_name():
    assert CustomerSort.parse("REVENUE ") is CustomerSort.REVENUE
    assert CustomerSort.parse("nope") is CustomerSort.NAME
    assert CustomerSort.parse(None) is CustomerSort.NAME


def test_search_by_number_with_a_hash(admin_client, shop):
    rows = _rows(admin_client.get("/customers", params={"q": "#16684"}).text)

    assert [row["customer-label"] for row in rows] == ["#16684"]


def _orders_selects(client, connection, params):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "orders" in statement:
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        assert client.get("/customers", params=params).status_code == 200
    finally:
        event.remove(connection, "before_cursor_execute", count)
    return statements


@pytest.mark.parametrize("sort", ["name", "revenue"])
def test_figures_come_from_one_grouped_query_whatever_the_page_size(
    admin_client, session, connection, sort
):
    first = make_customer(session, identities=[])
    make_order(session, first)
    session.commit()
    few = _orders_selects(admin_client, connection, {"sort": sort})
    for _ in range(12):
        make_order(session, make_customer(session, identities=[]))
    session.commit()

    many = _orders_selects(admin_client, connection, {"sort": sort})

    assert len(many) == len(few)
    # the page's figures: one grouped query for all rows (the revenue sort joins one more)
    assert len(many) == (1 if sort == "name" else 2)
    assert all("GROUP BY" in statement.upper() for statement in many)
