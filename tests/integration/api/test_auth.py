from datetime import timedelta

import pytest

from kehu.api import API_PREFIX
from kehu.core import utcnow
from kehu.users import ApiToken, set_user_active
from tests.factories import PASSWORD
from tests.integration.api.conftest import api_routes

ME = "/api/v1/auth/me"


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing_case"),
        pytest.param("Bearer kehu_not-a-real-token", id="unknown_case"),
        pytest.param("Basic dXNlcjpwYXNz", id="wrong_scheme_case"),
        pytest.param("Bearer ", id="empty_case"),
        pytest.param("Bearer " + "x" * 5000, id="enormous_case"),
    ],
)
def test_requests_without_a_valid_token_are_refused(client, staff, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get("/api/v1/customers", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "POST /api/v1/auth/token" in response.json()["detail"]
    assert response.json()["code"] == "not_authenticated"


def test_password_gives_a_token_shown_once_that_authenticates(client, staff, session):
    response = client.post(
        "/api/v1/auth/token",
        json={"email": "AGENT@example.com ", "password": PASSWORD, "name": "laptop"},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token"].startswith("kehu_")
    assert body["prefix"] == body["token"][:12]
    assert body["name"] == "laptop"
    assert body["user_id"] == staff["agent"].user.id
    me = client.get(ME, headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "agent@example.com"
    assert me.json()["role"] == "agent"
    stored = session.get(ApiToken, body["id"])
    assert stored.token_hash != body["token"]  # only the hash is kept


@pytest.mark.parametrize(
    ("email", "password"),
    [
        pytest.param("agent@example.com", "wrong password!", id="wrong_password_case"),
        pytest.param("nobody@example.com", PASSWORD, id="unknown_email_case"),
    ],
)
def test_wrong_credentials_give_401_and_no_token(client, staff, session, email, password):
    n_tokens = session.query(ApiToken).count()

    response = client.post("/api/v1/auth/token", json={"email": email, "password": password})

    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong e-mail or password."
    assert session.query(ApiToken).count() == n_tokens


def test_revoked_token_stops_working(client, staff):
    agent = staff["agent"]
    token_id = client.get(ME, headers=agent.headers).json()["id"]  # user id, to compare below
    created = client.post(
        "/api/v1/auth/token", json={"email": "agent@example.com", "password": PASSWORD}
    ).json()
    headers = {"Authorization": f"Bearer {created['token']}"}

    revoked = client.delete(f"/api/v1/auth/tokens/{created['id']}", headers=headers)

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert revoked.json()["user_id"] == token_id
    assert client.get(ME, headers=headers).status_code == 401
    assert client.get(ME, headers=agent.headers).status_code == 200  # other tokens still work


def test_someone_elses_token_cannot_be_revoked_but_an_admin_can(client, staff, session):
    admin_token = session.query(ApiToken).filter_by(user_id=staff["admin"].user.id).one()

    by_agent = client.delete(
        f"/api/v1/auth/tokens/{admin_token.id}", headers=staff["agent"].headers
    )
    assert by_agent.status_code == 404
    assert client.get(ME, headers=staff["admin"].headers).status_code == 200

    agent_token = session.query(ApiToken).filter_by(user_id=staff["agent"].user.id).one()
    by_admin = client.delete(
        f"/api/v1/auth/tokens/{agent_token.id}", headers=staff["admin"].headers
    )
    assert by_admin.status_code == 200
    assert client.get(ME, headers=staff["agent"].headers).status_code == 401


def test_expired_token_and_deactivated_user_are_refused(client, staff, session, actor):
    token = session.query(ApiToken).filter_by(user_id=staff["owner"].user.id).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    set_user_active(session, staff["manager"].user, False, actor=actor)
    session.commit()

    assert client.get(ME, headers=staff["owner"].headers).status_code == 401
    assert client.get(ME, headers=staff["manager"].headers).status_code == 401
    refused = client.post(
        "/api/v1/auth/token", json={"email": "manager@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 401


def test_every_route_declares_the_roles_it_allows():
    open_routes = {("POST", f"{API_PREFIX}/auth/token")}
    routes = api_routes()
    unchecked = []
    for method, path, route in routes:
        calls = []
        stack = list(route.dependant.dependencies)
        while stack:
            dependency = stack.pop()
            calls.append(dependency.call)
            stack.extend(dependency.dependencies)
        if not any(hasattr(call, "allowed_roles") for call in calls):
            unchecked.append(f"{method} {path}")

    assert unchecked == sorted(f"{m} {p}" for m, p in open_routes)


def test_openapi_has_stable_operation_ids_and_the_bearer_scheme(client):
    spec = client.get("/api/v1/openapi.json").json()

    ids = {
        f"{method.upper()} {path}": operation["operationId"]
        for path, operations in spec["paths"].items()
        if path.startswith(API_PREFIX)
        for method, operation in operations.items()
    }
    assert ids["GET /api/v1/customers"] == "customers-read_customers"
    assert ids["POST /api/v1/customers/batch"] == "customers-upsert_customers"
    assert ids["POST /api/v1/auth/token"] == "auth-create_token"
    assert len(set(ids.values())) == len(ids)
    assert "ApiToken" in spec["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 200
