from kehu.audit import AuditEntry
from kehu.users import User
from tests.factories import PASSWORD, make_customer


def test_admin_creates_a_user_who_can_then_get_a_token(client, session, admin):
    department = client.post(
        "/api/v1/departments", json={"code": "service", "name": "Service"}, headers=admin
    )
    assert department.status_code == 201, department.text

    created = client.post(
        "/api/v1/users",
        json={
            "email": "Mei@Example.com",
            "name": "Mei",
            "password": PASSWORD,
            "role": "agent",
            "department_code": "service",
            "locale": "zh-CN",
        },
        headers=admin,
    )

    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["email"], user["role"], user["department_code"], user["locale"]) == (
        "mei@example.com",
        "agent",
        "service",
        "zh-CN",
    )
    assert "password" not in str(user)
    token = client.post(
        "/api/v1/auth/token", json={"email": "mei@example.com", "password": PASSWORD}
    )
    assert token.status_code == 201
    duplicate = client.post(
        "/api/v1/users",
        json={"email": "mei@example.com", "name": "Mei", "password": PASSWORD, "role": "agent"},
        headers=admin,
    )
    assert duplicate.status_code == 409
    listed = client.get("/api/v1/users", headers=admin).json()
    assert listed["count"] == 5
    assert [d["code"] for d in client.get("/api/v1/departments", headers=admin).json()["data"]] == [
        "service"
    ]
    unknown = client.post(
        "/api/v1/users",
        json={
            "email": "x@example.com",
            "name": "X",
            "password": PASSWORD,
            "role": "agent",
            "department_code": "nope",
        },
        headers=admin,
    )
    assert unknown.status_code == 422
    assert "no department with code 'nope'" in unknown.json()["detail"]


def test_deactivated_user_loses_api_access_until_activated(client, session, staff, admin):
    agent = staff["agent"]
    url = f"/api/v1/users/{agent.user.id}"

    deactivated = client.post(f"{url}/deactivate", headers=admin)

    assert deactivated.status_code == 200
    assert deactivated.json()["is_active"] is False
    assert client.get("/api/v1/auth/me", headers=agent.headers).status_code == 401
    assert client.post(f"{url}/activate", headers=admin).json()["is_active"] is True
    assert client.get("/api/v1/auth/me", headers=agent.headers).status_code == 200
    assert client.post("/api/v1/users/987654/deactivate", headers=admin).status_code == 404


def test_admin_creates_a_token_for_a_service_user(client, staff, admin):
    created = client.post(
        f"/api/v1/users/{staff['owner'].user.id}/tokens",
        json={"name": "nightly sync", "expires_in_days": 30},
        headers=admin,
    )

    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert created.json()["expires_at"] is not None
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["email"] == "owner@example.com"


def test_audit_log_names_the_api_caller_and_filters(client, session, staff):
    manager = staff["manager"]
    customer = make_customer(session)
    session.commit()
    client.patch(
        f"/api/v1/customers/{customer.id}", json={"city": "Leeds"}, headers=manager.headers
    )
    client.patch(f"/api/v1/customers/{customer.id}", json={"city": "York"}, headers=manager.headers)

    response = client.get(
        "/api/v1/audit",
        params={
            "object_type": "customer",
            "object_id": str(customer.id),
            "action": "customer.update",
        },
        headers=manager.headers,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    newest = body["data"][0]
    assert (newest["actor_kind"], newest["actor_label"], newest["actor_user_id"]) == (
        "api_token",
        "manager@example.com",
        manager.user.id,
    )
    assert newest["changes"] == {"city": ["Leeds", "York"]}
    assert newest["at"].endswith("Z")
    page = client.get("/api/v1/audit", params={"limit": 1, "offset": 1}, headers=manager.headers)
    assert len(page.json()["data"]) == 1
    # A manager reads what their team did (here: their own two changes); the admin reads it all.
    assert page.json()["count"] == 2
    everything = client.get("/api/v1/audit", params={"limit": 1}, headers=staff["admin"].headers)
    assert everything.json()["count"] == session.query(AuditEntry).count() > 2
    assert session.query(User).count() == 4
