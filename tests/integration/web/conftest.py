"""A console client on the test store (SQLite and PostgreSQL), plus signing in."""

import re

import pytest
from fastapi.testclient import TestClient

from kehu.app import create_app
from kehu.users import Role
from tests.factories import PASSWORD, make_user

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """Return the CSRF token shown in the forms of ``path``."""
    match = CSRF.search(client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD):
    """Sign in through the login form; return the response (not followed)."""
    token = csrf_of(client)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


@pytest.fixture
def app(test_settings, session_factory):
    return create_app(test_settings, session_factory)


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def users(session):
    made = {
        role: make_user(session, role, email=f"{role.value}@example.com", name=role.value.title())
        for role in (Role.ADMIN, Role.MANAGER, Role.AGENT)
    }
    session.commit()
    return made


@pytest.fixture
def admin_client(client, session):
    make_user(session, Role.ADMIN, email="admin@example.com", name="Admin")
    session.commit()
    assert sign_in(client, "admin@example.com").status_code == 303
    return client


@pytest.fixture
def agent_client(client, session):
    make_user(session, Role.AGENT, email="agent@example.com", name="Agent")
    session.commit()
    assert sign_in(client, "agent@example.com").status_code == 303
    return client
