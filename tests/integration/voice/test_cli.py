"""`kehu import posts` and `kehu voice score` against a real SQLite file."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kehu.cli.main import app
from kehu.core import get_settings
from kehu.store import upgrade_to_head

DATA = Path(__file__).parents[2] / "data" / "voice"
runner = CliRunner()


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'voice.db'}"
    monkeypatch.setenv("KEHU_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade_to_head(url)
    yield url
    get_settings.cache_clear()


def test_import_then_score_prints_what_happened(db_url):
    imported = runner.invoke(app, ["import", "posts", str(DATA / "posts.csv")])
    scored = runner.invoke(app, ["voice", "score", "--json"])
    again = runner.invoke(app, ["voice", "score"])

    assert imported.exit_code == 0, imported.output
    assert scored.exit_code == 0, scored.output
    outcome = json.loads(scored.output)
    assert (outcome["n_scored"], outcome["n_without_text"]) == (24, 0)
    assert outcome["n_mentions"] >= 2
    assert again.exit_code == 0
    assert again.output.startswith("0 post(s) scored")
