"""`kehu service import-mail` and `kehu train categories` on a SQLite file."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kehu.cli.main import app
from kehu.core import get_settings
from kehu.store import upgrade_to_head

DATA = Path(__file__).parents[2] / "data" / "service"
runner = CliRunner()


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    monkeypatch.setenv("KEHU_DATABASE_URL", url)
    monkeypatch.setenv("KEHU_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    upgrade_to_head(url)
    yield url
    get_settings.cache_clear()


def test_import_mail_reports_per_message_as_json(db_url):
    result = runner.invoke(app, ["service", "import-mail", str(DATA / "malformed.mbox"), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["n_messages"], report["n_created"], report["n_triage"]) == (6, 3, 3)
    assert [e["line"] for e in report["errors"]] == [1, 22, 26]


def test_import_mail_of_a_missing_file_exits_1(db_url, tmp_path):
    result = runner.invoke(app, ["service", "import-mail", str(tmp_path / "none.eml")])

    assert result.exit_code == 1
    assert "cannot read" in result.output


def test_training_without_labels_exits_1_and_says_what_to_do(db_url):
    result = runner.invoke(app, ["train", "categories"])

    assert result.exit_code == 1
    assert "Correct the category of more tickets" in result.output


def test_training_on_corrections_then_routing_the_triage_queue(db_url):
    import csv

    from kehu.service import correct_category, create_category, route_ticket
    from kehu.store import make_engine, make_session_factory
    from tests.factories import ACTOR
    from tests.factories.service import make_ticket

    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        top = create_category(session, code="top", name="Top", actor=ACTOR)
        with (DATA / "banking77_slice.csv").open(encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
        leaves = {
            code: create_category(session, code=code, name=code, parent_code=top.code, actor=ACTOR)
            for code in sorted({r["category"] for r in rows})
        }
        for row in rows:
            ticket = make_ticket(session, body=row["text"])
            correct_category(session, ticket, leaves[row["category"]].id, actor=ACTOR)
        waiting = make_ticket(session, body="My card still has not arrived, where is it?")
        route_ticket(
            session, waiting, category_code=None, confidence=None, threshold=0.5, actor=ACTOR
        )
        session.commit()
    engine.dispose()

    result = runner.invoke(app, ["train", "categories", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["n_labels"], report["n_categories"], report["n_routed"]) == (320, 8, 1)
    assert Path(report["path"], "params.json").exists()
