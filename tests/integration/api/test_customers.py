from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kehu.commerce import LineInput
from kehu.customers import (
    ContactRole,
    Customer,
    add_contact,
    find_customer_by_identity,
    list_identities,
    record_consent,
)
from kehu.engagement import log_interaction
from tests.factories import ACTOR, make_customer, make_order

CUSTOMERS = "/api/v1/customers"


@pytest.fixture
def people(session, staff):
    """Five customers in two countries, one merged away, two owned by the owner."""
    owner_id = staff["owner"].user.id
    made = {
        "ada": make_customer(session, name="Ada Lovelace", country="United Kingdom"),
        "alan": make_customer(session, name="Alan Turing", country="United Kingdom"),
        "li": make_customer(
            session,
            name="李伟",
            country="China",
            owner_id=owner_id,
            identities=[("email", "li.wei@example.com"), ("phone", "+8613812345678")],
        ),
        "acme": make_customer(session, name="Acme Ltd", kind="organisation", owner_id=owner_id),
        "gone": make_customer(session, name="Ada Duplicate", country="United Kingdom"),
    }
    made["gone"].merged_into_id = made["ada"].id
    session.commit()
    return made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({}, ["Acme Ltd", "Ada Lovelace", "Alan Turing", "李伟"], id="all_case"),
        pytest.param({"q": "ada"}, ["Ada Lovelace"], id="name_case"),
        pytest.param({"q": "LI.WEI@example"}, ["李伟"], id="email_case"),
        pytest.param({"q": "13812345678"}, ["李伟"], id="phone_identity_case"),
        pytest.param({"country": "China"}, ["李伟"], id="country_case"),
        pytest.param({"kind": "organisation"}, ["Acme Ltd"], id="kind_case"),
        pytest.param({"owner_id": "{owner}"}, ["Acme Ltd", "李伟"], id="owner_case"),
        pytest.param({"q": "nobody"}, [], id="no_match_case"),
        pytest.param({"q": "99999999999999999999"}, [], id="number_beyond_any_id_case"),
    ],
)
def test_list_filters(client, admin, staff, people, query, expected):
    params = {k: staff["owner"].user.id if v == "{owner}" else v for k, v in query.items()}

    response = client.get(CUSTOMERS, params=params, headers=admin)

    assert response.status_code == 200
    body = response.json()
    assert [c["name"] for c in body["data"]] == expected
    assert body["count"] == len(expected)


def test_list_pages_with_a_total_count(client, admin, people):
    first = client.get(CUSTOMERS, params={"limit": 3}, headers=admin).json()
    second = client.get(CUSTOMERS, params={"limit": 3, "offset": 3}, headers=admin).json()

    assert first["count"] == second["count"] == 4
    assert [c["name"] for c in first["data"]] == ["Acme Ltd", "Ada Lovelace", "Alan Turing"]
    assert [c["name"] for c in second["data"]] == ["李伟"]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"limit": 101}, id="limit_over_100_case"),
        pytest.param({"limit": 0}, id="limit_zero_case"),
        pytest.param({"offset": -1}, id="negative_offset_case"),
        pytest.param({"kind": "robot"}, id="unknown_kind_case"),
    ],
)
def test_bad_list_parameters_are_422(client, admin, params):
    response = client.get(CUSTOMERS, params=params, headers=admin)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("query ")


def test_create_normalises_identities_and_refuses_duplicates(client, admin, session):
    body = {
        "external_id": "CRM-7",
        "name": "  Grace Hopper ",
        "email": "Grace@Navy.MIL",
        "phone": "+1 (202) 555-0100",
        "birthday": "1906-12-09",
        "identities": [{"kind": "wechat_openid", "value": "oGrace"}],
    }

    created = client.post(CUSTOMERS, json=body, headers=admin)
    again = client.post(CUSTOMERS, json=body, headers=admin)
    same_email = client.post(CUSTOMERS, json={"email": "grace@navy.mil"}, headers=admin)

    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["name"] == "Grace Hopper"
    assert customer["email"] == "grace@navy.mil"
    assert customer["phone"] == "+12025550100"
    assert customer["birthday"] == "1906-12-09"
    assert customer["created_at"].endswith("Z")
    kinds = sorted(i.kind for i in list_identities(session, customer["id"]))
    assert kinds == ["email", "external_id", "phone", "wechat_openid"]
    assert again.status_code == 409
    assert again.json()["code"] == "customers.duplicate_external_id"
    assert same_email.status_code == 409
    assert same_email.json()["code"] == "customers.identity_taken"
    assert same_email.json()["details"] == {"customer_id": customer["id"]}
    assert session.query(Customer).count() == 1


def test_360_view_has_exact_figures(client, admin, session, staff):
    customer = make_customer(
        session,
        name="Acme Ltd",
        kind="organisation",
        identities=[("email", "buyer@acme.example")],
    )
    person = make_customer(session, name="Wile E.")
    add_contact(session, account=customer, person=person, role=ContactRole.PROCUREMENT, actor=ACTOR)
    march = datetime(2010, 3, 1, 10, 0, tzinfo=UTC)
    make_order(
        session,
        customer,
        external_id="A-1",
        ordered_at=march,
        lines=[LineInput(sku="S1", quantity=2, unit_price=Decimal("3.50"))],
    )
    make_order(
        session,
        customer,
        external_id="A-2",
        ordered_at=datetime(2010, 3, 20, tzinfo=UTC),
        lines=[LineInput(sku="S2", quantity=1, unit_price=Decimal("10.00"))],
    )
    make_order(
        session,
        customer,
        external_id="A-3",
        ordered_at=datetime(2010, 4, 2, tzinfo=UTC),
        lines=[LineInput(sku="S1", quantity=-1, unit_price=Decimal("3.50"))],
    )
    record_consent(
        session,
        customer,
        channel="email",
        purpose="marketing",
        status="granted",
        actor=ACTOR,
        at=datetime(2010, 1, 1, tzinfo=UTC),
    )
    record_consent(
        session,
        customer,
        channel="email",
        purpose="marketing",
        status="withdrawn",
        actor=ACTOR,
        at=datetime(2010, 2, 1, tzinfo=UTC),
    )
    log_interaction(
        session,
        customer_id=customer.id,
        channel="Phone",
        direction="inbound",
        occurred_at=datetime(2010, 3, 2, 9, 30, tzinfo=UTC),
        subject="Where is my order?",
        actor=ACTOR,
    )
    session.commit()

    response = client.get(f"{CUSTOMERS}/{customer.id}", headers=admin)

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["customer"]["name"] == "Acme Ltd"
    assert view["customer"]["kind"] == "organisation"
    assert [(i["kind"], i["value"]) for i in view["identities"]] == [
        ("email", "buyer@acme.example")
    ]
    assert [(c["person_name"], c["role"]) for c in view["contacts"]] == [("Wile E.", "procurement")]
    assert view["consents"] == [{"channel": "email", "purpose": "marketing", "status": "withdrawn"}]
    assert [c["status"] for c in view["consent_history"]] == ["withdrawn", "granted"]
    assert view["order_stats"] == {
        "n_orders": 2,
        "n_returns": 1,
        "revenue": {"amount": "13.50", "currency": "GBP"},
        "first_order_at": "2010-03-01T10:00:00Z",
        "last_order_at": "2010-04-02T00:00:00Z",
    }
    assert view["orders_per_month"] == [
        {"month": "2010-03", "n_orders": 2, "revenue": {"amount": "17.00", "currency": "GBP"}},
        {"month": "2010-04", "n_orders": 0, "revenue": {"amount": "-3.50", "currency": "GBP"}},
    ]
    assert [o["external_id"] for o in view["latest_orders"]] == ["A-3", "A-2", "A-1"]
    assert view["latest_orders"][0]["kind"] == "return"
    assert view["latest_orders"][2]["total"] == {"amount": "7.00", "currency": "GBP"}
    assert [(i["channel"], i["subject"]) for i in view["latest_interactions"]] == [
        ("phone", "Where is my order?")
    ]
    assert view["merges"] == []


def test_patch_changes_only_the_fields_sent(client, admin, session, staff):
    customer = make_customer(session, name="Ada", city="London", notes="VIP")
    session.commit()
    owner_id = staff["owner"].user.id

    response = client.patch(
        f"{CUSTOMERS}/{customer.id}",
        json={"city": "Leeds", "owner_id": owner_id, "birthday": None},
        headers=admin,
    )

    assert response.status_code == 200, response.text
    assert response.json()["city"] == "Leeds"
    assert response.json()["owner_id"] == owner_id
    assert response.json()["notes"] == "VIP"
    assert response.json()["name"] == "Ada"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"name": None}, "name cannot be null", id="null_name_case"),
        pytest.param({"owner_id": 999999}, "owner_id: there is no user 999999", id="no_user_case"),
        pytest.param(
            {"owner_id": 99999999999999999999}, "owner_id: there is no user", id="huge_owner_case"
        ),
        pytest.param({"email": "x@example.com"}, "Extra inputs are not permitted", id="extra_case"),
    ],
)
def test_patch_refuses_bad_fields(client, admin, session, body, message):
    customer = make_customer(session, name="Ada")
    session.commit()

    response = client.patch(f"{CUSTOMERS}/{customer.id}", json=body, headers=admin)

    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    session.expire_all()
    assert session.get(Customer, customer.id).name == "Ada"


def test_identity_and_consent_are_added(client, admin, session):
    customer = make_customer(session)
    other = make_customer(session, identities=[("wechat_openid", "oTaken")])
    session.commit()
    url = f"{CUSTOMERS}/{customer.id}"

    added = client.post(
        f"{url}/identities", json={"kind": "phone", "value": "020 7946 0000"}, headers=admin
    )
    taken = client.post(
        f"{url}/identities", json={"kind": "wechat_openid", "value": "oTaken"}, headers=admin
    )
    consent = client.post(
        f"{url}/consents",
        json={"channel": "SMS", "purpose": "Service", "status": "granted"},
        headers=admin,
    )

    assert added.status_code == 201
    assert added.json()["value"] == "02079460000"
    assert taken.status_code == 409
    assert taken.json()["details"] == {"customer_id": other.id}
    assert consent.status_code == 201
    assert (consent.json()["channel"], consent.json()["purpose"]) == ("sms", "service")
    view = client.get(url, headers=admin).json()
    assert view["consents"] == [{"channel": "sms", "purpose": "service", "status": "granted"}]


def test_batch_reports_each_record_and_stores_only_the_good_ones(client, session, staff):
    existing = make_customer(session, name="Old Name", identities=[("email", "old@example.com")])
    session.commit()
    headers = staff["manager"].headers
    batch = [
        {"external_id": "E-1", "name": "New One", "email": "One@Example.com"},
        {"email": "old@example.com", "name": "New Name"},
        {"external_id": "E-2", "name": "Bad e-mail", "email": "not-an-address"},
        {"external_id": "E-3", "birthday": "1990-02-30"},
        {"name": "No identity"},
        {"external_id": "E-4", "colour": "blue"},
        "not an object",
        {"external_id": "E-5", "phone": "+44 20 7946 0001", "country": "United Kingdom"},
    ]

    first = client.post(f"{CUSTOMERS}/batch", json=batch, headers=headers)

    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, "created"),
        (1, "updated"),
        (2, "error"),
        (3, "error"),
        (4, "error"),
        (5, "error"),
        (6, "error"),
        (7, "created"),
    ]
    assert results[1]["id"] == existing.id
    assert results[1]["changed"] == ["name"]
    assert "not an e-mail address" in results[2]["errors"][0]["message"]
    assert results[3]["errors"][0]["field"] == "birthday"
    assert "external_id, an e-mail, a phone" in results[4]["errors"][0]["message"]
    assert results[5]["errors"][0]["field"] == "colour"
    assert results[5]["errors"][0]["message"] == "Extra inputs are not permitted"
    assert first.json()["counts"] == {"created": 2, "updated": 1, "unchanged": 0, "error": 5}
    session.expire_all()
    assert session.query(Customer).count() == 3
    assert find_customer_by_identity(session, "email", "one@example.com").id == results[0]["id"]
    assert session.query(Customer).filter_by(external_id="E-2").count() == 0

    again = client.post(f"{CUSTOMERS}/batch", json=batch, headers=headers)

    statuses = [r["status"] for r in again.json()["results"]]
    assert statuses == ["unchanged", "unchanged", *["error"] * 5, "unchanged"]
    session.expire_all()
    assert session.query(Customer).count() == 3


def test_batch_reports_identities_that_belong_to_someone_else(client, admin, session):
    a = make_customer(session, identities=[("email", "a@example.com")])
    b = make_customer(session, identities=[("phone", "+442079460002")])
    session.commit()

    response = client.post(
        f"{CUSTOMERS}/batch",
        json=[{"email": "a@example.com", "phone": "+44 20 7946 0002", "city": "York"}],
        headers=admin,
    )

    result = response.json()["results"][0]
    assert (result["status"], result["id"]) == ("updated", a.id)
    assert result["conflicts"] == [{"kind": "phone", "value": "+442079460002", "customer_id": b.id}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param([], "The batch is empty", id="empty_case"),
        pytest.param([{"email": "x@example.com"}] * 1001, "at most 1000", id="too_many_case"),
        pytest.param({"email": "x@example.com"}, "list", id="not_a_list_case"),
    ],
)
def test_batch_refuses_a_bad_envelope(client, admin, session, body, message):
    response = client.post(f"{CUSTOMERS}/batch", json=body, headers=admin)

    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert session.query(Customer).count() == 0


def test_merge_and_undo_over_http(client, session, staff):
    winner = make_customer(session, name="Winner", city=None)
    loser = make_customer(session, name="Loser", city="Leeds")
    order = make_order(session, loser)
    session.commit()
    headers = staff["manager"].headers

    merged = client.post(
        f"{CUSTOMERS}/{winner.id}/merge", json={"loser_id": loser.id}, headers=headers
    )

    assert merged.status_code == 201, merged.text
    merge = merged.json()
    assert (merge["winner_id"], merge["loser_id"], merge["undone_at"]) == (
        winner.id,
        loser.id,
        None,
    )
    assert merge["merged_by"] == "manager@example.com"
    view = client.get(f"{CUSTOMERS}/{winner.id}", headers=headers).json()
    assert view["customer"]["city"] == "Leeds"
    assert [o["id"] for o in view["latest_orders"]] == [order.id]
    assert [m["id"] for m in view["merges"]] == [merge["id"]]
    names = [c["name"] for c in client.get(CUSTOMERS, headers=headers).json()["data"]]
    assert "Loser" not in names
    twice = client.post(
        f"{CUSTOMERS}/{winner.id}/merge", json={"loser_id": loser.id}, headers=headers
    )
    assert twice.status_code == 409
    assert twice.json()["code"] == "customers.already_merged"

    undone = client.post(f"/api/v1/merges/{merge['id']}/undo", headers=headers)

    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_at"] is not None
    assert undone.json()["undone_by"] == "manager@example.com"
    view = client.get(f"{CUSTOMERS}/{loser.id}", headers=headers).json()
    assert view["customer"]["merged_into_id"] is None
    assert [o["id"] for o in view["latest_orders"]] == [order.id]
    assert (
        client.get(f"{CUSTOMERS}/{winner.id}", headers=headers).json()["customer"]["city"] is None
    )
    again = client.post(f"/api/v1/merges/{merge['id']}/undo", headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "customers.merge_already_undone"


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        pytest.param("{a}/merge", {"loser_id": "{a}"}, 422, "customers.merge_self", id="self_case"),
        pytest.param("{a}/merge", {"loser_id": 987654}, 404, "customers.not_found", id="no_loser"),
        pytest.param(
            "987654/merge", {"loser_id": "{a}"}, 404, "customers.not_found", id="no_winner"
        ),
    ],
)
def test_impossible_merges_are_refused(client, admin, session, path, body, status, code):
    a = make_customer(session)
    session.commit()
    body = {k: a.id if v == "{a}" else v for k, v in body.items()}

    response = client.post(f"{CUSTOMERS}/{path.format(a=a.id)}", json=body, headers=admin)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert client.post("/api/v1/merges/987654/undo", headers=admin).status_code == 404
