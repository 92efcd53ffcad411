"""One Spark session for the whole test run: starting one costs seconds."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kehu.batch import spark_session
from kehu.batch._synthetic import write_synthetic_parquet


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local Spark session, two cores, two shuffle partitions."""
    if shutil.which("java") is None:
        pytest.fail("The Spark tests need Java 17 on the PATH (openjdk-17-jre-headless).")
    session = spark_session(
        "local[2]",
        config={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            # Tiny data: compiling whole-stage code and re-planning cost more than they save.
            "spark.sql.codegen.wholeStage": "false",
            "spark.sql.adaptive.enabled": "false",
        },
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small seeded synthetic store in Parquet (300 customers, ~1.5k orders, 2 files each)."""
    out = tmp_path_factory.mktemp("synthetic")
    write_synthetic_parquet(out, n_customers=300, seed=8, chunk_customers=150)
    return out
