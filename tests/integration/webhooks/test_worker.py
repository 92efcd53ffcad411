"""The delivery thread of `kehu serve` and the `kehu webhooks deliver` command."""

import time

from typer.testing import CliRunner

from kehu.cli.main import app as cli
from kehu.core import Actor, Settings, get_settings
from kehu.jobs.webhooks import start_webhook_worker
from kehu.store import make_engine, make_session_factory, session_scope, upgrade_to_head
from kehu.webhooks import create_subscription, list_deliveries
from tests.factories import make_customer

ADMIN = Actor(kind="system", label="test admin")


def _store(tmp_path, receiver):
    url = f"sqlite:///{tmp_path / 'kehu.db'}"
    upgrade_to_head(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        create_subscription(session, name="crm", url=receiver.url, event_types=["*"], actor=ADMIN)
        make_customer(session)
    return url, engine, factory


def test_the_serve_thread_delivers_without_being_asked(tmp_path, receiver):
    url, engine, factory = _store(tmp_path, receiver)
    settings = Settings(environment="test", database_url=url, webhook_deliver_every_seconds=0.05)

    worker = start_webhook_worker(settings, factory)
    try:
        deadline = time.monotonic() + 30
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        assert worker is not None
        worker.stop()

    assert len(receiver.requests) == 1
    with session_scope(factory, writes=False) as session:
        [(delivery, _)], _ = list_deliveries(session)
        assert delivery.status == "delivered"
    engine.dispose()


def test_no_thread_when_switched_off(tmp_path):
    settings = Settings(environment="test", webhook_deliver_every_seconds=0)

    assert start_webhook_worker(settings, None) is None


def test_cli_delivers_what_is_due(tmp_path, receiver, monkeypatch):
    url, engine, _ = _store(tmp_path, receiver)
    monkeypatch.setenv("KEHU_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["webhooks", "deliver", "--json"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert '"n_delivered": 1' in result.output
    assert len(receiver.requests) == 1
    engine.dispose()
