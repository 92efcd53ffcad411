"""`kehu privacy export` against a real SQLite file."""

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kehu.audit import AuditEntry
from kehu.cli.main import app
from kehu.core import get_settings
from kehu.store import make_engine, make_session_factory
from tests.factories import make_customer, make_order

runner = CliRunner()


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("KEHU_DATABASE_URL", url)
    get_settings.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    yield url
    get_settings.cache_clear()


def _customer(url: str) -> int:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        customer = make_customer(session, name="Ada", email="ada@example.com")
        make_order(session, customer)
        session.commit()
        customer_id = customer.id
    engine.dispose()
    return customer_id


def _exports(url: str) -> int:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        n = len(
            session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.export")).all()
        )
    engine.dispose()
    return n


def test_export_writes_the_document_to_a_file_or_stdout_and_is_audited(db_url, tmp_path):
    customer_id = _customer(db_url)
    out = tmp_path / "ada.json"

    written = runner.invoke(app, ["privacy", "export", str(customer_id), "--out", str(out)])
    assert written.exit_code == 0, written.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["customer"]["email"] == "ada@example.com"
    assert len(document["records"]["orders"]) == 1

    printed = runner.invoke(app, ["privacy", "export", str(customer_id)])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["customer_id"] == customer_id
    assert _exports(db_url) == 2


def test_export_refuses_an_unknown_customer_and_a_directory(db_url, tmp_path):
    customer_id = _customer(db_url)
    unknown = runner.invoke(app, ["privacy", "export", "987654"])
    assert unknown.exit_code == 1
    assert "987654" in unknown.output
    to_dir = runner.invoke(app, ["privacy", "export", str(customer_id), "--out", str(tmp_path)])
    assert to_dir.exit_code == 2
    assert "directory" in to_dir.output
    assert _exports(db_url) == 0


def test_opt_out_erase_and_retention_commands(db_url):
    customer_id = _customer(db_url)
    opted = runner.invoke(app, ["privacy", "opt-out", str(customer_id), "--source", "letter"])
    assert opted.exit_code == 0, opted.output
    assert "opted out" in opted.output
    dry = runner.invoke(app, ["privacy", "retention", "--years", "1", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would erase 0 customer(s)" in dry.output  # created today: not inactive
    kept = runner.invoke(app, ["privacy", "erase", str(customer_id)], input="n\n")
    assert kept.exit_code == 1
    erased = runner.invoke(app, ["privacy", "erase", str(customer_id), "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "Erased customer" in erased.output
    missing = runner.invoke(app, ["privacy", "erase", "987654", "--yes"])
    assert missing.exit_code == 1
    assert "987654" in missing.output
