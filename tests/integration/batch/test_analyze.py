"""``kehu analyze --engine spark --input DIR`` scores customers as the store path does."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from kehu.analytics.clv import simulate_transactions
from kehu.batch import export_parquet
from kehu.cli.analyze import analyze_command
from kehu.core import get_settings
from kehu.store import make_engine, make_session_factory, upgrade_to_head
from kehu.value import CustomerValue
from tests.integration.value.conftest import LAST_DAY, load_history

# pyspark 4.0 and Ibis call pandas APIs that pandas 3 deprecates; nothing kehu can change.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

runner = CliRunner()
cli = typer.Typer()
cli.command()(analyze_command)
ARGS = ["--as-of", LAST_DAY.isoformat(), "--holdout-weeks", "20"]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A SQLite store of 120 simulated customers in ``DIR/kehu.db``; ``KEHU_*`` point at it."""
    base = tmp_path_factory.mktemp("analyze")
    url = f"sqlite:///{base / 'kehu.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEHU_DATABASE_URL", url)
        patch.setenv("KEHU_DATA_DIR", str(base))
        get_settings.cache_clear()
        upgrade_to_head(url)
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            load_history(session, simulate_transactions(120, random_state=11))
            session.commit()
        engine.dispose()
        yield base
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def store_scores(store_dir: Path) -> list[tuple[Any, ...]]:
    """The scores `kehu analyze` writes from the store, and the store exported to Parquet."""
    result = runner.invoke(cli, ARGS)
    assert result.exit_code == 0, result.output
    url = f"sqlite:///{store_dir / 'kehu.db'}"
    export_parquet(url, store_dir / "parquet")
    return _scores(url)


def _scores(url: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    CustomerValue.customer_id,
                    CustomerValue.frequency,
                    CustomerValue.clv,
                    CustomerValue.p_alive,
                    CustomerValue.tier,
                    CustomerValue.total_spend,
                    CustomerValue.rfm_segment,
                ).order_by(CustomerValue.customer_id)
            ).all()
    finally:
        engine.dispose()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_engine_scores_equal_the_store_path(
    store_dir: Path,
    store_scores: list[tuple[Any, ...]],
    engine: str,
    request: pytest.FixtureRequest,
) -> None:
    if engine == "spark":
        request.getfixturevalue("spark")  # the shared session, not one per run

    result = runner.invoke(cli, [*ARGS, "--engine", engine, "--input", str(store_dir / "parquet")])

    assert result.exit_code == 0, result.output
    assert "Holdout check (20 weeks" in result.output
    from_engine = _scores(f"sqlite:///{store_dir / 'kehu.db'}")
    assert len(from_engine) == len(store_scores) > 10
    for ours, theirs in zip(from_engine, store_scores, strict=True):
        assert ours[:2] == theirs[:2]
        assert ours[2] == theirs[2]  # CLV in cents
        assert ours[3] == pytest.approx(theirs[3], rel=1e-9)
        assert ours[4:] == theirs[4:]


def test_spark_without_input_exits_1(store_dir: Path) -> None:
    result = runner.invoke(cli, [*ARGS, "--engine", "spark"])

    assert result.exit_code == 1
    assert "give --input DIR" in " ".join(result.output.split())


def test_input_without_parquet_exits_1(store_dir: Path) -> None:
    result = runner.invoke(cli, [*ARGS, "--input", str(store_dir / "nowhere")])

    assert result.exit_code == 1
    # The console wraps long lines (a long temporary path moves the break): compare words.
    assert "no orders/ directory" in " ".join(result.output.split())
