"""Bad input gets a 4xx with a message a person can act on; never a 500."""

import logging
import re

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from kehu.api.errors import ApiRoute
from kehu.customers import Customer
from tests.factories import make_customer
from tests.integration.api.conftest import api_routes

HUGE = "99999999999999999999"
MAX_ID = str(2**63 - 1)
INTERACTION = {"channel": "phone", "direction": "inbound", "occurred_at": "2010-01-01T00:00:00Z"}

CASES = [
    # (method, path, request kwargs, status, words the message must contain)
    pytest.param(
        "POST",
        "/api/v1/customers",
        {"content": b'{"name": "Ada", ', "headers": {"Content-Type": "application/json"}},
        422,
        "not valid JSON",
        id="malformed_json",
    ),
    pytest.param(
        "POST",
        "/api/v1/customers",
        {"content": b"\xff\xfe\x00garbage", "headers": {"Content-Type": "application/json"}},
        422,
        "JSON",
        id="binary_json",
    ),
    pytest.param(
        "POST",
        "/api/v1/customers",
        {"json": {"name": "Ada", "colour": "blue"}},
        422,
        "colour: Extra inputs are not permitted",
        id="unknown_field",
    ),
    pytest.param(
        "POST",
        "/api/v1/customers",
        {"json": {"name": ["Ada"], "email": "a@example.com"}},
        422,
        "name",
        id="wrong_type_list",
    ),
    pytest.param(
        "POST",
        "/api/v1/customers",
        {"json": [1, 2, 3]},
        422,
        "body",
        id="array_not_object",
    ),
    pytest.param(
        "POST",
        "/api/v1/customers",
        {"json": {"email": "a@example.com", "kind": "robot"}},
        422,
        "kind",
        id="unknown_enum",
    ),
    pytest.param(
        "POST",
        "/api/v1/customers",
        {"json": {"email": "a@example.com", "birthday": "30/02/1990"}},
        422,
        "birthday",
        id="bad_birthday",
    ),
    pytest.param(
        "POST",
        "/api/v1/customers",
        {"json": {"email": "a" * 400 + "@example.com"}},
        422,
        "email",
        id="overlong_email",
    ),
    pytest.param(
        "POST",
        "/api/v1/customers",
        {"content": b"name=Ada", "headers": {"Content-Type": "text/plain"}},
        422,
        "body",
        id="not_json_content_type",
    ),
    pytest.param("GET", f"/api/v1/customers/{HUGE}", {}, 422, "customer_id", id="huge_path_id"),
    pytest.param("GET", f"/api/v1/customers/{MAX_ID}", {}, 404, "no customer", id="max_path_id"),
    pytest.param("GET", "/api/v1/customers/-1", {}, 422, "customer_id", id="negative_id"),
    pytest.param("GET", "/api/v1/customers/1.5", {}, 422, "customer_id", id="float_id"),
    pytest.param("GET", "/api/v1/customers/abc", {}, 422, "customer_id", id="text_id"),
    pytest.param(
        "PATCH",
        f"/api/v1/customers/{HUGE}",
        {"json": {"city": "York"}},
        422,
        "customer_id",
        id="huge_patch_id",
    ),
    pytest.param(
        "GET",
        "/api/v1/customers",
        {"params": {"owner_id": HUGE}},
        422,
        "owner_id",
        id="huge_query_id",
    ),
    pytest.param(
        "GET",
        "/api/v1/customers",
        {"params": {"offset": HUGE}},
        422,
        "offset",
        id="huge_offset",
    ),
    pytest.param(
        "GET",
        "/api/v1/customers",
        {"params": {"q": "x" * 201}},
        422,
        "q",
        id="overlong_q",
    ),
    pytest.param(
        "GET",
        "/api/v1/orders",
        {"params": {"customer_id": HUGE}},
        422,
        "customer_id",
        id="huge_order_filter",
    ),
    pytest.param("GET", f"/api/v1/orders/{HUGE}", {}, 422, "order_id", id="huge_order_id"),
    pytest.param(
        "GET",
        "/api/v1/orders",
        {"params": {"since": "2010-13-01"}},
        422,
        "since",
        id="impossible_date",
    ),
    pytest.param(
        "GET",
        "/api/v1/orders",
        {"params": {"since": "yesterday"}},
        422,
        "since",
        id="words_for_date",
    ),
    pytest.param(
        "GET",
        "/api/v1/orders",
        {"params": {"since": "2010-03-01", "until": "2010-02-01"}},
        422,
        "since must be earlier than until",
        id="backwards_period",
    ),
    pytest.param(
        "GET",
        "/api/v1/orders",
        {"params": {"until": "0001-01-01T00:00:00+05:00"}},
        422,
        "out of range",
        id="date_overflowing_utc",
    ),
    pytest.param(
        "POST",
        "/api/v1/interactions",
        {"json": {**INTERACTION, "customer_id": int(HUGE)}},
        422,
        "customer_id",
        id="huge_body_id",
    ),
    pytest.param(
        "POST",
        "/api/v1/interactions",
        {"json": {**INTERACTION, "customer_id": 1, "occurred_at": "9999-12-31T23:00:00-05:00"}},
        422,
        "out of range",
        id="year_10000_in_utc",
    ),
    pytest.param(
        "POST",
        "/api/v1/interactions",
        {"json": {**INTERACTION, "customer_id": "one"}},
        422,
        "customer_id",
        id="text_body_id",
    ),
    pytest.param(
        "POST",
        "/api/v1/orders",
        {
            "content": b'{"external_id": "X", "ordered_at": "2010-01-01", "lines": '
            b'[{"sku": "A", "quantity": 1e400, "unit_price": "1"}]}',
            "headers": {"Content-Type": "application/json"},
        },
        422,
        "quantity",
        id="infinite_quantity",
    ),
    pytest.param(
        "POST",
        "/api/v1/orders",
        {
            "json": {
                "external_id": "X",
                "ordered_at": "2010-01-01",
                "lines": [{"sku": "A", "quantity": 1, "unit_price": "NaN"}],
            }
        },
        422,
        "unit_price",
        id="nan_price",
    ),
    pytest.param(
        "POST",
        "/api/v1/customers/{c}/merge",
        {"json": {"loser_id": int(HUGE)}},
        422,
        "loser_id",
        id="huge_loser_id",
    ),
    pytest.param("POST", f"/api/v1/merges/{HUGE}/undo", {}, 422, "merge_id", id="huge_merge_id"),
    pytest.param(
        "DELETE",
        f"/api/v1/auth/tokens/{HUGE}",
        {},
        422,
        "token_id",
        id="huge_token_id",
    ),
    pytest.param(
        "POST",
        f"/api/v1/users/{HUGE}/deactivate",
        {},
        422,
        "user_id",
        id="huge_user_id",
    ),
    pytest.param(
        "POST",
        "/api/v1/users",
        {"json": {"email": "x@example.com", "name": "X", "password": "long enough", "role": "god"}},
        422,
        "role",
        id="unknown_role",
    ),
    pytest.param(
        "POST",
        "/api/v1/users",
        {"json": {"email": "x@example.com", "name": "X", "password": "short", "role": "agent"}},
        422,
        "at least 10 characters",
        id="short_password",
    ),
    pytest.param(
        "POST",
        "/api/v1/customers/{c}/consents",
        {"json": {"channel": "email", "purpose": "marketing", "status": "maybe"}},
        422,
        "status",
        id="unknown_consent_status",
    ),
    pytest.param(
        "POST",
        "/api/v1/customers/{c}/identities",
        {"json": {"kind": "email", "value": "not an address"}},
        422,
        "not an e-mail address",
        id="bad_identity",
    ),
    pytest.param(
        "POST",
        "/api/v1/auth/token",
        {"json": {"email": "a@example.com"}},
        422,
        "password",
        id="missing_password",
    ),
    pytest.param("PUT", "/api/v1/customers", {}, 405, "Method Not Allowed", id="wrong_method"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "words"), CASES)
def test_bad_input_is_a_4xx_with_a_message(
    client, admin, session, method, path, kwargs, status, words
):
    customer = make_customer(session)
    session.commit()
    kwargs = dict(kwargs)  # the parameters are shared by the SQLite and PostgreSQL runs
    headers = {**admin, **kwargs.pop("headers", {})}

    response = client.request(method, path.format(c=customer.id), headers=headers, **kwargs)

    assert response.status_code == status, response.text
    assert words in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        pytest.param("GET", "/api/v1/customers", {"params": {"q": "a\x00b"}}, id="nul_search"),
        pytest.param(
            "POST",
            "/api/v1/customers",
            {"json": {"name": "A\x00", "email": "n@example.com"}},
            id="nul_name",
        ),
        pytest.param(
            "GET", "/api/v1/audit", {"params": {"object_id": "\x00"}}, id="nul_audit_filter"
        ),
    ],
)
def test_nul_characters_never_reach_the_last_resort(client, admin, method, path, kwargs, caplog):
    # PostgreSQL refuses NUL in text, SQLite stores it: either way, no 500.
    with caplog.at_level(logging.ERROR, logger="kehu.api"):
        response = client.request(method, path, headers=admin, **kwargs)

    assert response.status_code < 500, response.text
    assert caplog.records == []


def test_a_refused_write_in_the_middle_rolls_back_everything(client, admin, session):
    taken = make_customer(session, identities=[("email", "taken@example.com")])
    session.commit()
    body = {
        "external_id": "HALF-1",
        "name": "Half done",
        "identities": [{"kind": "email", "value": "taken@example.com"}],
    }

    response = client.post("/api/v1/customers", json=body, headers=admin)

    assert response.status_code == 409
    session.expire_all()
    assert session.query(Customer).count() == 1
    assert session.query(Customer).one().id == taken.id


def test_unexpected_errors_are_logged_and_answered_as_json(caplog):
    router = APIRouter(route_class=ApiRoute)

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    app = FastAPI()
    app.include_router(router)
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="kehu.api"),
    ):
        response = client.get("/boom", headers={"X-Request-ID": "req-42"})

    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "request_id": "req-42"}
    assert "req-42" in caplog.text
    assert "a bug" in caplog.text


def test_unknown_api_address_is_a_json_404(client, admin):
    response = client.get("/api/v1/nothing-here", headers=admin)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"] == "Not Found"


def test_no_route_answers_500_to_garbage(client, admin, session, caplog):
    make_customer(session)
    session.commit()
    routes = [(method, path) for method, path, _ in api_routes()]
    bodies = [
        {"content": b"{", "headers": {"Content-Type": "application/json"}},
        {"json": {"unexpected": [1, {"deep": None}]}},
    ]
    answers = {}
    with caplog.at_level(logging.ERROR, logger="kehu.api"):
        for method, path in routes:
            for value in ("1", HUGE):
                url = re.sub(r"\{[a-z_]+\}", value, path)
                for body in bodies:
                    kwargs = dict(body)
                    headers = {**admin, **kwargs.pop("headers", {})}
                    status = client.request(method, url, headers=headers, **kwargs).status_code
                    answers[(method, url, str(body)[:20])] = status

    assert len(answers) > 90
    assert {key: status for key, status in answers.items() if status >= 500} == {}
    assert caplog.records == []
