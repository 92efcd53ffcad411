"""Fixtures for the API: the app on the test store, a client, staff of every role with tokens."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kehu.api import API_PREFIX, ROUTERS
from kehu.app import create_app
from kehu.core import Actor, Settings
from kehu.store import Base
from kehu.users import Role, User, create_api_token
from tests.factories import make_user

_APPS: dict[str, FastAPI] = {}


@pytest.fixture
def app(test_settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    """The whole application on the test's store.

    Building it takes ~50 ms, so it is built once per database and handed each test's
    settings and session factory (all the API reads from ``app.state``).
    """
    app = _APPS.get(test_settings.database_url)
    if app is None:
        app = _APPS[test_settings.database_url] = create_app(test_settings, session_factory)
    app.state.settings = test_settings
    app.state.session_factory = session_factory
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client on the application; server errors come back as responses."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@dataclass
class Staff:
    """A user and the headers that authenticate as them."""

    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def staff(session: Session) -> dict[str, Staff]:
    """One active user of each role, with an API token each, committed."""
    actor = Actor(kind="system", label="test")
    members = {}
    for role in Role:
        user = make_user(session, role=role, email=f"{role.value}@example.com")
        _, secret = create_api_token(session, user, name="tests", actor=actor)
        members[role.value] = Staff(user, secret)
    session.commit()
    return members


@pytest.fixture
def admin(staff: dict[str, Staff]) -> dict[str, str]:
    """Headers of the administrator."""
    return staff["admin"].headers


def api_routes() -> list[tuple[str, str, APIRoute]]:
    """Return ``(method, full path, route)`` for every API route."""
    return [
        (method, API_PREFIX + route.path, route)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]


def row_counts(session: Session) -> dict[str, int]:
    """Return the number of rows in every table (to prove that a refused request wrote nothing)."""
    session.expire_all()
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }
