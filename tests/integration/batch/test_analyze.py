"""``kehu analyze --engine E --input DIR`` scores and stages customers as the store path does."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from kehu.analytics.clv import simulate_transactions
from kehu.batch import export_parquet
from kehu.cli.analyze import analyze_command
from kehu.core import get_settings
from kehu.health import CustomerHealth, HealthRun
from kehu.jobs.recommend import recommender_path
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
def store_results(
    store_dir: Path,
) -> tuple[list[tuple[Any, ...]], tuple[list[tuple[Any, ...]], dict[str, Any]]]:
    """The scores and health `kehu analyze` writes from the store; the store to Parquet.

    The recommender it saved is kept in ``DIR/store-recommender``.
    """
    result = runner.invoke(cli, ARGS)
    assert result.exit_code == 0, result.output
    assert "Recommender trained on" in result.output
    shutil.copytree(_recommender(), store_dir / "store-recommender")
    url = f"sqlite:///{store_dir / 'kehu.db'}"
    export_parquet(url, store_dir / "parquet")
    return _scores(url), _health(url)


def _recommender() -> Path:
    return recommender_path(get_settings())


def _model_arrays(path: Path) -> dict[str, Any]:
    with np.load(path / "arrays.npz", allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _health(url: str) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Each customer's stage, churn risk and P(alive), and the latest health run's metrics."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    CustomerHealth.customer_id,
                    CustomerHealth.stage,
                    CustomerHealth.churn_risk,
                    CustomerHealth.p_alive,
                ).order_by(CustomerHealth.customer_id)
            ).all()
            metrics = connection.execute(
                select(HealthRun.metrics).order_by(HealthRun.id.desc()).limit(1)
            ).scalar_one()
    finally:
        engine.dispose()
    return [tuple(row) for row in rows], metrics


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
def test_engine_scores_and_health_equal_the_store_path(
    store_dir: Path,
    store_results: tuple[list[tuple[Any, ...]], tuple[list[tuple[Any, ...]], dict[str, Any]]],
    engine: str,
    request: pytest.FixtureRequest,
) -> None:
    # One run per engine checks both steps (a Spark run of the whole analysis is slow).
    if engine == "spark":
        request.getfixturevalue("spark")  # the shared session, not one per run
    store_scores, (rows, metrics) = store_results

    result = runner.invoke(cli, [*ARGS, "--engine", engine, "--input", str(store_dir / "parquet")])

    assert result.exit_code == 0, result.output
    assert "Holdout check (20 weeks" in result.output
    url = f"sqlite:///{store_dir / 'kehu.db'}"
    from_engine = _scores(url)
    assert len(from_engine) == len(store_scores) > 10
    for ours, theirs in zip(from_engine, store_scores, strict=True):
        assert ours[:2] == theirs[:2]
        assert ours[2] == theirs[2]  # CLV in cents
        assert ours[3] == pytest.approx(theirs[3], rel=1e-9)
        assert ours[4:] == theirs[4:]
    # Health: the engine computed the line aggregates (kehu.batch.EngineHealth).
    ours_health, our_metrics = _health(url)
    assert len(ours_health) == len(rows) > 10
    for mine, theirs in zip(ours_health, rows, strict=True):
        assert mine[:2] == theirs[:2]  # customer, stage
        assert mine[2:] == pytest.approx(theirs[2:], rel=1e-9, abs=1e-12)  # risk, P(alive)
    # The churn model was fitted and checked on the same figures; cohorts are the same.
    assert metrics["risk_source"] == "churn model"
    for key in ("stages", "cohorts", "risk_source", "discount_basis", "retention_value"):
        assert our_metrics[key] == metrics[key], key
    assert our_metrics["churn"]["coefficients"] == pytest.approx(
        metrics["churn"]["coefficients"], rel=1e-6
    )
    for key in ("auc_model", "auc_p_alive", "auc_recency", "n_customers"):
        assert our_metrics["churn"]["check"][key] == pytest.approx(
            metrics["churn"]["check"][key], rel=1e-9
        )
    # The recommender learnt from the engine's purchases what it learnt from the store.
    ours_model = _model_arrays(_recommender())
    store_model = _model_arrays(store_dir / "store-recommender")
    assert ours_model.keys() == store_model.keys()
    for key, value in ours_model.items():
        np.testing.assert_array_equal(value, store_model[key], err_msg=key)


def test_spark_without_input_exits_1(store_dir: Path) -> None:
    result = runner.invoke(cli, [*ARGS, "--engine", "spark"])

    assert result.exit_code == 1
    assert "give --input DIR" in " ".join(result.output.split())


def test_input_without_parquet_exits_1(store_dir: Path) -> None:
    result = runner.invoke(cli, [*ARGS, "--input", str(store_dir / "nowhere")])

    assert result.exit_code == 1
    # The console wraps long lines (a long temporary path moves the break): compare words.
    assert "no orders/ directory" in " ".join(result.output.split())
