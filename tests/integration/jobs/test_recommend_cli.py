"""`kehu analyze` also trains the recommender and saves it beside the SQLite file."""

import pytest
import typer
from typer.testing import CliRunner

from kehu.analytics.clv import simulate_transactions
from kehu.cli.analyze import analyze_command
from kehu.core import get_settings
from kehu.jobs.recommend import forget_loaded_recommender, load_recommender
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
    forget_loaded_recommender()
    upgrade_to_head(url)
    yield url
    get_settings.cache_clear()
    forget_loaded_recommender()


def test_analyze_trains_the_recommender_after_the_value_analysis(db_url, tmp_path):
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        load_history(session, simulate_transactions(60, random_state=3))
        session.commit()
    engine.dispose()

    result = runner.invoke(cli, ["--as-of", LAST_DAY.isoformat(), "--holdout-weeks", "0"])

    assert result.exit_code == 0, result.output
    assert "Recommender trained on" in result.output
    assert (tmp_path / "models" / "recommender" / "params.json").is_file()
    model, trained_at = load_recommender(get_settings())
    assert model is not None
    assert trained_at is not None
    assert model.recommend(-1, k=1)[0].item_id == "VALUE-1"  # an unknown customer: popular
