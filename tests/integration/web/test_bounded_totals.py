"""The customer list under a record scope says "N+" past the count's bound and keeps Next."""

import re

import pytest

from kehu.store import counts as counts_module
from kehu.users import Role
from kehu.web.routes import customers as customer_routes
from tests.factories import make_customer, make_user
from tests.integration.web.conftest import sign_in


def _pager(html: str) -> str:
    return re.search(r'<span class="pager-info">(.*?)</span>', html, re.S).group(1).strip()


@pytest.fixture
def owner_client(client, session, monkeypatch):
    """An owner with five customers, two a page, counts bounded at 2."""
    monkeypatch.setattr(counts_module, "COUNT_LIMIT", 2)
    monkeypatch.setattr(customer_routes, "PAGE_SIZE", 2)
    owner = make_user(session, Role.OWNER, email="owner@example.com", name="Owner")
    for i in range(5):
        make_customer(session, name=f"Mine {i}", owner_id=owner.id)
    session.commit()
    assert sign_in(client, "owner@example.com").status_code == 303
    return client


def test_the_first_page_says_more_than_the_bound(owner_client):
    html = owner_client.get("/customers").text

    assert _pager(html) == "2+ in all · page 1"
    assert "page=2" in html  # Next


def test_a_page_past_the_bound_counts_up_to_itself(owner_client):
    html = owner_client.get("/customers", params={"page": 2}).text

    assert _pager(html) == "4+ in all · page 2"
    assert "page=3" in html


def test_the_last_page_knows_the_total(owner_client):
    html = owner_client.get("/customers", params={"page": 3}).text

    assert _pager(html) == "5 in all · page 3 of 3"
    assert "page=4" not in html


def test_an_administrator_sees_the_exact_total(admin_client, session, monkeypatch):
    monkeypatch.setattr(counts_module, "COUNT_LIMIT", 2)
    monkeypatch.setattr(customer_routes, "PAGE_SIZE", 2)
    for i in range(5):
        make_customer(session, name=f"Any {i}")
    session.commit()

    html = admin_client.get("/customers").text

    assert _pager(html) == "5 in all · page 1 of 3"
