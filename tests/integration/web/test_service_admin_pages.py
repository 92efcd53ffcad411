"""Service desk console for managers: the category tree (CSV import, edits, answers), SLA
policies, and agents linking a ticket from an unknown sender to a customer."""

import re

import pytest

from kehu.customers import find_customer_by_identity
from kehu.service import (
    find_category_by_code,
    get_ticket,
    list_answer_versions,
    list_categories,
    list_sla_policies,
)
from tests.factories import make_customer
from tests.factories.service import make_desk, make_ticket
from tests.integration.web.conftest import csrf_of, sign_in


@pytest.fixture
def desk(session):
    desk = make_desk(session)
    session.commit()
    return desk


@pytest.fixture
def manager(client, users):
    assert sign_in(client, "manager@example.com").status_code == 303
    return client


def _codes(session):
    session.expire_all()
    return {c.code: c.name for c in list_categories(session, include_inactive=True)}


def test_a_csv_with_a_bad_row_imports_nothing_and_reports_every_problem(manager, session, desk):
    before = _codes(session)
    token = csrf_of(manager, "/service/categories")
    data = (
        b"code,name,parent_code,department_code\n"
        b"fees,Fees,,billing\n"
        b"card_fees,Card fees,fees,\n"
        b"lost,Lost,nowhere,\n"
        b"atm,ATM,,mars\n"
    )

    response = manager.post(
        "/service/categories/import",
        data={"csrf_token": token},
        files={"file": ("tree.csv", data, "text/csv")},
    )

    assert response.status_code == 422
    assert 'data-applied="false"' in response.text
    assert "Nothing was imported: 2 of 4 rows have a problem" in response.text
    assert "Parent &#39;nowhere&#39; of &#39;lost&#39; does not exist." in response.text
    assert "There is no department with code &#39;mars&#39;." in response.text
    assert _codes(session) == before


def test_a_good_csv_imports_whole_and_the_tree_shows_it(manager, session, desk):
    token = csrf_of(manager, "/service/categories")
    data = "code,name,parent_code,department_code\nfees,Fees,,billing\ncard_fees,Card fees,fees,\n"

    response = manager.post(
        "/service/categories/import",
        data={"csrf_token": token},
        files={"file": ("tree.csv", data.encode(), "text/csv")},
    )
    tree = manager.get("/service/categories")

    assert response.status_code == 200
    assert "2 categories created, 0 updated" in response.text
    assert {"fees", "card_fees"} <= set(_codes(session))
    assert 'data-category-code="card_fees"' in tree.text
    assert "Fees / Card fees" in tree.text


def test_an_empty_upload_is_refused_with_a_reason(manager, desk):
    token = csrf_of(manager, "/service/categories")

    response = manager.post(
        "/service/categories/import",
        data={"csrf_token": token},
        files={"file": ("empty.csv", b"", "text/csv")},
    )

    assert response.status_code == 200  # the redirect, followed
    assert "Choose a CSV file to import." in response.text


def test_managers_add_rename_move_route_and_retire_a_leaf(manager, session, desk):
    token = csrf_of(manager, "/service/categories")

    added = manager.post(
        "/service/categories",
        data={"csrf_token": token, "code": "card_fees", "name": "Card fee", "parent_code": "card"},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    page = added.headers["location"]
    assert "Cards / Card fee" in manager.get(page).text
    saved = manager.post(
        page,
        data={
            "csrf_token": token,
            "name": "Card fees",
            "parent_code": "money",
            "department_code": "cards",
            "sla_policy_code": "standard",
        },
    )
    assert "The category was saved." in saved.text
    leaf = find_category_by_code(session, "card_fees")
    session.refresh(leaf)
    assert (leaf.name, leaf.parent_id, leaf.department_id, leaf.sla_policy_id) == (
        "Card fees",
        desk.parents["money"].id,
        desk.cards.id,
        desk.policy.id,
    )
    refused = manager.post(
        f"/service/categories/{desk.parents['money'].id}/active",
        data={"csrf_token": token, "active": "0"},
    )
    assert "still has active sub-categories" in refused.text
    retired = manager.post(f"{page}/active", data={"csrf_token": token, "active": "0"})
    assert "The category was retired." in retired.text
    session.refresh(leaf)
    assert not leaf.is_active


def test_a_move_under_its_own_child_is_refused_and_changes_nothing(manager, session, desk):
    token = csrf_of(manager, "/service/categories")
    card = desk.parents["card"]

    response = manager.post(
        f"/service/categories/{card.id}",
        data={"csrf_token": token, "name": "Cards", "parent_code": "card_arrival"},
    )

    assert "cannot sit under one of its own descendants" in response.text
    session.refresh(card)
    assert card.parent_id is None


def test_the_canonical_answer_is_edited_as_versions(manager, session, desk):
    leaf = desk.leaves["card_arrival"]
    page = f"/service/categories/{leaf.id}"
    token = csrf_of(manager, page)
    assert "None of its own" in manager.get(page).text  # inherits the parent's answer

    manager.post(f"{page}/answer", data={"csrf_token": token, "body": "Five days.", "note": "v1"})
    shown = manager.post(f"{page}/answer", data={"csrf_token": token, "body": "Three days."})
    empty = manager.post(f"{page}/answer", data={"csrf_token": token, "body": "  "})

    assert [(a.version, a.body) for a in list_answer_versions(session, leaf.id)] == [
        (2, "Three days."),
        (1, "Five days."),
    ]
    assert 'data-testid="answer-versions"' in shown.text
    assert "The answer is empty." in empty.text


def test_agents_cannot_open_the_tree_or_the_policies(client, users, desk):
    assert sign_in(client, "agent@example.com").status_code == 303

    assert client.get("/service/categories").status_code == 403
    assert client.get("/service/sla-policies").status_code == 403
    assert 'data-testid="service-categories"' not in client.get("/service").text


def test_managers_create_and_edit_sla_policies_and_bad_input_keeps_the_form(manager, session, desk):
    token = csrf_of(manager, "/service/sla-policies")
    fields = {
        "csrf_token": token,
        "code": "weekdays",
        "name": "Weekdays",
        "timezone": "Asia/Shanghai",
        "business_hours": "1 09:00-18:00\n2 09:00-18:00",
        "holidays": "2026-10-01",
        "targets": "default 240 2880\nvip 60 480",
        "warn_at_share": "0.75",
    }

    bad = manager.post("/service/sla-policies", data={**fields, "targets": "vip sixty 480"})
    created = manager.post("/service/sla-policies", data=fields, follow_redirects=False)

    assert bad.status_code == 422
    assert "Targets line 1" in bad.text
    assert "1 09:00-18:00\n2 09:00-18:00" in bad.text  # what was typed comes back
    assert created.status_code == 303, created.text
    policy = next(p for p in list_sla_policies(session) if p.code == "weekdays")
    assert (policy.timezone, policy.business_hours, policy.holidays, policy.warn_at_share) == (
        "Asia/Shanghai",
        {"1": ["09:00", "18:00"], "2": ["09:00", "18:00"]},
        ["2026-10-01"],
        0.75,
    )
    assert policy.targets["vip"] == {"first_response_minutes": 60, "resolution_minutes": 480}
    edit = manager.get(created.headers["location"])
    assert "default 240 2880\nvip 60 480" in edit.text
    manager.post(
        created.headers["location"],
        data={**fields, "targets": "default 120 1440", "timezone": "Nowhere/City"},
    )
    session.refresh(policy)
    assert policy.timezone == "Asia/Shanghai"  # the bad time zone changed nothing
    manager.post(created.headers["location"], data={**fields, "targets": "default 120 1440"})
    session.refresh(policy)
    assert policy.targets == {
        "default": {"first_response_minutes": 120, "resolution_minutes": 1440}
    }


def test_agents_find_and_link_the_customer_of_an_unknown_sender(client, users, session, desk):
    customer = make_customer(
        session, name="Ada Lovelace", identities=[("email", "ada.lovelace@work.test")]
    )
    ticket = make_ticket(session, requester="ada@mail.test")
    session.commit()
    assert sign_in(client, "agent@example.com").status_code == 303
    page = f"/service/tickets/{ticket.id}"
    assert 'data-testid="link-customer"' in client.get(page).text

    # An agent finds a customer by an exact e-mail or phone, not by browsing names (docs/access.md).
    found = client.get(page, params={"customer_q": "Ada.Lovelace@work.test"})
    by_name = client.get(page, params={"customer_q": "lovelace"})
    nothing = client.get(page, params={"customer_q": "nobody-like-this"})
    token = csrf_of(client, page)
    linked = client.post(
        f"{page}/customer",
        data={"csrf_token": token, "customer_id": customer.id, "remember_sender": "1"},
    )

    assert re.search(rf'data-testid="link-customer-{customer.id}"', found.text)
    assert 'data-testid="no-customer-found"' in nothing.text
    assert 'data-testid="no-customer-found"' in by_name.text
    assert "The ticket was linked to the customer." in linked.text
    assert 'data-testid="link-customer"' not in linked.text
    session.expire_all()
    assert get_ticket(session, ticket.id).customer_id == customer.id
    assert find_customer_by_identity(session, "email", "ada@mail.test").id == customer.id
    bad = client.post(f"{page}/customer", data={"csrf_token": token, "customer_id": "x"})
    assert "Choose the customer from the search results." in bad.text
