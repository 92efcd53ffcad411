import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kehu.audit import AuditEntry
from kehu.commerce import LineInput
from kehu.customers import Customer, add_contact, record_consent
from kehu.engagement import log_interaction
from tests.factories import ACTOR, make_customer, make_order
from tests.integration.web.conftest import csrf_of


def _testid(html: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}">([^<]*)<', html)
    assert match, name
    return match.group(1).strip()


@pytest.fixture
def li_wei(session):
    customer = make_customer(session, name="Li Wei", city="上海")
    make_order(
        session,
        customer,
        ordered_at=datetime(2024, 1, 5, 9, 0, tzinfo=UTC),
        lines=[
            LineInput(sku="TEA", quantity=3, unit_price=Decimal("12.50"), name="Green tea"),
            LineInput(sku="CUP", quantity=1, unit_price=Decimal("4.99"), name="Cup"),
        ],
    )
    make_order(
        session,
        customer,
        ordered_at=datetime(2024, 3, 7, 9, 0, tzinfo=UTC),
        lines=[LineInput(sku="TEA", quantity=2, unit_price=Decimal("12.50"))],
    )
    make_order(
        session,
        customer,
        ordered_at=datetime(2024, 3, 9, 9, 0, tzinfo=UTC),
        lines=[LineInput(sku="CUP", quantity=-1, unit_price=Decimal("4.99"))],
    )
    record_consent(
        session, customer, channel="email", purpose="marketing", status="granted", actor=ACTOR
    )
    log_interaction(
        session,
        customer_id=customer.id,
        channel="phone",
        direction="inbound",
        occurred_at=datetime(2024, 3, 8, tzinfo=UTC),
        subject="Where is my parcel?",
        actor=ACTOR,
    )
    session.commit()
    return customer


def test_360_shows_exact_figures(admin_client, li_wei):
    page = admin_client.get(f"/customers/{li_wei.id}")

    assert page.status_code == 200
    html = page.text
    assert _testid(html, "customer-name").startswith("Li Wei")
    assert _testid(html, "stat-orders") == "2"
    assert _testid(html, "stat-returns") == "1"
    # 3 x 12.50 + 4.99 + 2 x 12.50 - 4.99
    assert _testid(html, "stat-revenue") == "62.50"
    chart = json.loads(re.search(r'id="orders-chart-data">(.*?)</script>', html, re.S).group(1))
    assert chart == {
        "months": ["2024-01", "2024-03"],
        "orders": [1, 1],
        "revenue": ["42.49", "20.01"],
    }
    assert "Green tea" in html
    assert "Where is my parcel?" in html
    assert "email · marketing" in html


def test_360_of_an_organisation_lists_its_contacts(admin_client, session):
    account = make_customer(session, kind="organisation", name="ACME Ltd")
    buyer = make_customer(session, name="Zhang San")
    add_contact(session, account=account, person=buyer, role="procurement", actor=ACTOR)
    session.commit()

    html = admin_client.get(f"/customers/{account.id}").text

    assert 'data-testid="contacts"' in html
    assert "Zhang San" in html
    assert "Procurement" in html


def test_search_filters_and_returns_a_partial_for_htmx(admin_client, session):
    make_customer(session, name="Wang Fang", country="China")
    make_customer(session, name="Wang Lei", country="Taiwan")
    make_customer(session, name="Alice Smith", country="China")
    session.commit()

    full = admin_client.get("/customers?q=wang&country=China")
    partial = admin_client.get(
        "/customers?q=wang", headers={"HX-Request": "true", "HX-Target": "customer-results"}
    )

    assert "Wang Fang" in full.text
    assert "Wang Lei" not in full.text
    assert "Alice Smith" not in full.text
    assert "<html" not in partial.text
    assert "Wang Fang" in partial.text
    assert "Wang Lei" in partial.text
    assert "2 in all" in partial.text


@pytest.mark.parametrize(
    "customer_id",
    ["abc", "0", "-1", "1e3", "٣", "99999999", "9223372036854775808", "9" * 40],
)
def test_bad_customer_ids_answer_404(admin_client, customer_id):
    response = admin_client.get(f"/customers/{customer_id}")

    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert 'data-testid="error-message"' in response.text


@pytest.mark.parametrize(
    "query_case", ["page=0", "page=abc", "page=99999999999999999999", "kind=robot"]
)
def test_bad_list_parameters_answer_422(admin_client, query_case):
    response = admin_client.get(f"/customers?{query_case}")

    assert response.status_code == 422
    assert "Check what you sent" in response.text


def test_unknown_address_answers_a_404_page(admin_client):
    response = admin_client.get("/no/such/page")

    assert response.status_code == 404
    assert "Page not found" in response.text


def test_manager_merges_and_undoes_from_the_360(client, users, session):
    from tests.integration.web.conftest import sign_in

    winner = make_customer(session, name="Winner")
    loser = make_customer(session, name="Loser")
    make_order(session, loser)
    session.commit()
    sign_in(client, "manager@example.com")
    token = csrf_of(client, f"/customers/{winner.id}")

    merged = client.post(
        f"/customers/{winner.id}/merge", data={"loser_id": str(loser.id), "csrf_token": token}
    )

    assert merged.status_code == 200
    assert f"Customer {loser.id} was merged into {winner.id}." in merged.text
    assert _testid(merged.text, "stat-orders") == "1"
    session.expire_all()
    assert session.get(Customer, loser.id).merged_into_id == winner.id
    undo_action = re.search(r'action="(/customers/\d+/merges/\d+/undo)"', merged.text).group(1)

    undone = client.post(undo_action, data={"csrf_token": token})

    assert "was undone" in undone.text
    session.expire_all()
    assert session.get(Customer, loser.id).merged_into_id is None


def test_merge_into_itself_shows_the_reason(admin_client, session):
    customer = make_customer(session)
    session.commit()
    token = csrf_of(admin_client, f"/customers/{customer.id}")

    page = admin_client.post(
        f"/customers/{customer.id}/merge", data={"loser_id": str(customer.id), "csrf_token": token}
    )

    assert "A customer cannot be merged into itself." in page.text


def test_agent_cannot_merge_and_nothing_changes(agent_client, session):
    a, b = make_customer(session), make_customer(session)
    session.commit()
    n_audit = session.scalar(select(func.count()).select_from(AuditEntry))
    token = csrf_of(agent_client, f"/customers/{a.id}")

    response = agent_client.post(
        f"/customers/{a.id}/merge", data={"loser_id": str(b.id), "csrf_token": token}
    )

    assert response.status_code == 403
    session.expire_all()
    assert session.get(Customer, b.id).merged_into_id is None
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == n_audit


@pytest.mark.parametrize("path", ["/imports", "/audit", "/imports/templates/customers.csv"])
def test_agent_is_denied_manager_pages(agent_client, path):
    response = agent_client.get(path)

    assert response.status_code == 403
    assert "Only administrators and managers" in response.text


def test_agent_sees_no_manager_links(agent_client):
    html = agent_client.get("/").text

    assert 'href="/imports"' not in html
    assert 'href="/audit"' not in html


def test_audit_log_filters_by_object_type_and_action(admin_client, li_wei):
    page = admin_client.get("/audit?object_type=customer&action=consent.granted")

    assert page.status_code == 200
    assert page.text.count("email/marketing") == 1
    assert "order.create" not in page.text
