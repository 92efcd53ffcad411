"""`kehu analyze` through Typer's CliRunner on a SQLite file."""

import pytest
import typer
from typer.testing import CliRunner

from kehu.analytics.clv import simulate_transactions
from kehu.cli.analyze import analyze_command
from kehu.core import get_settings
from kehu.store import make_engine, make_session_factory, upgrade_to_head
from tests.integration.value.conftest import LAST_DAY, load_history

runner = CliRunner()
cli = typer.Typer()
cli.command()(analyze_command)


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'analyze.db'}"
    monkeypatch.setenv("KEHU_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade_to_head(url)
    yield url
    get_settings.cache_clear()


def test_analyze_prints_models_tiers_and_the_pareto_line(db_url):
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        load_history(session, simulate_transactions(120, random_state=11))
        session.commit()
    engine.dispose()

    result = runner.invoke(
        cli, ["--as-of", LAST_DAY.isoformat(), "--vip-share", "0.2", "--holdout-weeks", "20"]
    )

    assert result.exit_code == 0, result.output
    assert "customers scored" in result.output
    assert "BG/NBD" in result.output
    assert "Gamma-Gamma" in result.output
    assert "vip" in result.output
    assert "20% of customers bring" in result.output
    assert "Holdout check (20 weeks" in result.output


def test_analyze_without_data_exits_1(db_url):
    result = runner.invoke(cli, [])

    assert result.exit_code == 1
    assert "import orders first" in result.output


def test_a_bad_date_exits_1(db_url):
    result = runner.invoke(cli, ["--as-of", "yesterday"])

    assert result.exit_code == 1
    assert "--as-of must be a date" in result.output
