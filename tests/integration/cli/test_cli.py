"""The `kehu` command line against a real SQLite file."""

import re

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kehu.cli.main import app
from kehu.commerce import Order
from kehu.core import get_settings
from kehu.customers import Customer
from kehu.store import make_engine, make_session_factory
from kehu.users import User, find_user_by_token
from kehu.value import list_value_runs

runner = CliRunner()


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("KEHU_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _count_users(url: str) -> int:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        n = session.scalar(select(func.count()).select_from(User)) or 0
    engine.dispose()
    return n


def test_version_and_settings_need_no_database(monkeypatch):
    monkeypatch.setenv("KEHU_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("KEHU_SECRET_KEY", "a-secret-that-must-not-be-printed")
    get_settings.cache_clear()

    version = runner.invoke(app, ["version"])
    shown = runner.invoke(app, ["settings", "show"])
    get_settings.cache_clear()

    assert version.exit_code == 0
    assert "kehu 0.1.0" in version.output
    assert shown.exit_code == 0
    assert "a-secret-that-must-not-be-printed" not in shown.output
    assert "********" in shown.output


def test_init_is_repeatable_and_creates_the_admin_once(db_url):
    first = runner.invoke(
        app, ["init", "--admin-email", "boss@example.com", "--admin-password", "long enough pw"]
    )
    second = runner.invoke(app, ["init", "--admin-email", "boss@example.com"])

    assert first.exit_code == 0, first.output
    assert "Admin boss@example.com created" in first.output
    assert second.exit_code == 0, second.output
    assert "already exists" in second.output
    assert _count_users(db_url) == 1


def test_users_create_list_token_and_refusals(db_url):
    runner.invoke(app, ["init"])

    created = runner.invoke(
        app,
        ["users", "create", "Agent@Example.com", "--role", "agent", "--password", "long enough pw"],
    )
    duplicate = runner.invoke(
        app,
        ["users", "create", "agent@example.com", "--role", "agent", "--password", "long enough pw"],
    )
    weak = runner.invoke(app, ["users", "create", "x@example.com", "--password", "short"])
    bad_role = runner.invoke(
        app, ["users", "create", "y@example.com", "--role", "boss", "--password", "long enough pw"]
    )
    listed = runner.invoke(app, ["users", "list"])
    token = runner.invoke(app, ["users", "token", "agent@example.com"])

    assert created.exit_code == 0, created.output
    assert (duplicate.exit_code, weak.exit_code, bad_role.exit_code) == (1, 1, 1)
    assert "already exists" in duplicate.output
    assert "at least 10 characters" in weak.output
    assert "Unknown role 'boss'" in bad_role.output
    assert "agent@example.com" in listed.output
    assert _count_users(db_url) == 1
    secret = token.output.strip()
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        assert find_user_by_token(session, secret).email == "agent@example.com"
    engine.dispose()


def test_demo_loads_real_data_once(db_url):
    first = runner.invoke(app, ["demo", "--no-serve"])
    second = runner.invoke(app, ["demo", "--no-serve"])

    assert first.exit_code == 0, first.output
    assert "admin@kehu.local" in first.output
    # The summary names what every feature demo left (issue 7 §8: the demo shows each).
    said = " ".join(first.output.split())
    assert re.search(r"[1-9][\d,]* tickets, [1-9][\d,]* posts, [1-9][\d,]* open tasks", said)
    assert re.search(r"health stages: .*lapsed [1-9]", said), said
    assert second.exit_code == 0, second.output
    assert "already loaded; nothing changed" in second.output
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        n_customers = session.scalar(select(func.count()).select_from(Customer))
        n_orders = session.scalar(select(func.count()).select_from(Order))
        runs = list_value_runs(session)
    engine.dispose()
    assert (n_customers, n_orders) == (807, 4202)
    # The demo's value analysis runs once, on real data in which nobody has visibly left yet.
    assert [run.status for run in runs] == ["succeeded"]
    assert runs[0].n_scored == 789
    assert "no customer dropout yet" in runs[0].message
