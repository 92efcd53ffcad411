"""The customer 360: orders and interactions in pages of 10, lines collapsed, labels, favicon."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kehu.commerce import LineInput
from kehu.engagement import log_interaction
from tests.factories import ACTOR, make_customer, make_order
from tests.integration.web.conftest import csrf_of


@pytest.fixture
def wholesaler(session):
    """12 orders (the newest has 5 lines) and 13 interactions."""
    customer = make_customer(session, name=None, external_id="16684", identities=[])
    start = datetime(2010, 1, 4, 9, 0, tzinfo=UTC)
    for n in range(12):
        lines = [LineInput(sku=f"S{n}", quantity=1, unit_price=Decimal("2.00"), name=f"Item {n}")]
        if n == 11:
            lines = [
                LineInput(sku=f"L{i}", quantity=2, unit_price=Decimal("1.25"), name=f"Lamp {i}")
                for i in range(5)
            ]
        make_order(
            session,
            customer,
            external_id=f"O{n:02d}",
            ordered_at=start + timedelta(days=n),
            lines=lines,
        )
    for n in range(13):
        log_interaction(
            session,
            customer_id=customer.id,
            channel="email",
            direction="inbound",
            occurred_at=start + timedelta(days=n),
            subject=f"Question {n:02d}",
            actor=ACTOR,
        )
    session.commit()
    return customer


def _order_numbers(html: str) -> list[str]:
    return re.findall(
        r'<tr data-testid="order-row">.*?<span class="mono">([^<]+)</span>', html, re.S
    )


def test_shows_the_10_latest_orders_with_lines_collapsed(admin_client, wholesaler):
    html = admin_client.get(f"/customers/{wholesaler.id}").text

    assert _order_numbers(html) == [f"O{n:02d}" for n in range(11, 1, -1)]
    assert re.search(r'data-testid="n-orders">12<', html)
    counts = re.findall(r'data-testid="order-n-lines">([^<]+)<', html)
    assert counts == ["5 lines"] + ["1 line"] * 9
    # the lines are inside a closed <details>; the preview names the first 3 and says there is more
    assert '<details class="order-lines" data-testid="order-lines">' in html
    assert "Lamp 0, Lamp 1, Lamp 2…" in html
    assert "Lamp 4" in html  # in the collapsed table
    assert "1\u201310 of 12" in html
    assert f'href="/customers/{wholesaler.id}?orders_page=2"' in html


def test_older_orders_come_as_an_htmx_fragment_or_a_page(admin_client, wholesaler):
    fragment = admin_client.get(
        f"/customers/{wholesaler.id}/orders", params={"page": 2}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert _order_numbers(fragment.text) == ["O01", "O00"]
    assert "11\u201312 of 12" in fragment.text

    plain = admin_client.get(f"/customers/{wholesaler.id}/orders?page=2", follow_redirects=False)
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/customers/{wholesaler.id}?orders_page=2#orders"
    page = admin_client.get(f"/customers/{wholesaler.id}?orders_page=2")
    assert _order_numbers(page.text) == ["O01", "O00"]


def test_interactions_come_in_pages_of_10(admin_client, wholesaler):
    html = admin_client.get(f"/customers/{wholesaler.id}").text
    subjects = re.findall(r"<strong>(Question \d+)</strong>", html)
    assert subjects == [f"Question {n:02d}" for n in range(12, 2, -1)]

    fragment = admin_client.get(
        f"/customers/{wholesaler.id}/interactions",
        params={"page": 2},
        headers={"HX-Request": "true"},
    ).text
    assert re.findall(r"<strong>(Question \d+)</strong>", fragment) == [
        "Question 02",
        "Question 01",
        "Question 00",
    ]


@pytest.mark.parametrize("query", ["orders_page=0", "orders_page=x", "interactions_page=-1"])
def test_bad_page_numbers_answer_422_not_500(admin_client, wholesaler, query):
    assert admin_client.get(f"/customers/{wholesaler.id}?{query}").status_code == 422


def test_a_page_past_the_end_shows_no_orders(admin_client, wholesaler):
    page = admin_client.get(f"/customers/{wholesaler.id}?orders_page=9")
    assert page.status_code == 200
    assert _order_numbers(page.text) == []


def test_number_label_and_record_created_instead_of_customer_since(admin_client, wholesaler):
    html = admin_client.get(f"/customers/{wholesaler.id}").text

    assert re.search(r'data-testid="customer-name"><span class="mono">#16684</span>', html)
    assert "<title>#16684 · kehu</title>" in html
    assert "Customer since" not in html
    assert "Record created" in html
    assert re.search(r'data-testid="stat-currency">GBP<', html)
    assert 'data-currency="GBP"' in html


def test_chinese_labels(admin_client, wholesaler):
    path = f"/customers/{wholesaler.id}"
    token = csrf_of(admin_client, path)
    switched = admin_client.post(
        "/lang", data={"locale": "zh-CN", "next": path, "csrf_token": token}, follow_redirects=False
    )
    assert switched.status_code == 303

    html = admin_client.get(path).text

    assert "记录创建于" in html
    assert re.findall(r'data-testid="order-n-lines">([^<]+)<', html)[:2] == ["5 行", "1 行"]
    assert "第 1\u201310 条\uff0c共 12 条" in html
    assert '<span class="badge badge-muted">邮件</span>' in html


def test_favicon_is_served_and_linked(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")
    assert client.get("/static/img/favicon.svg").status_code == 200
    assert '<link rel="icon" href="/static/img/favicon.svg"' in client.get("/login").text
