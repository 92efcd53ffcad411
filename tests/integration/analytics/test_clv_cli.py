"""``kehu clv evaluate`` on the CDNOW sample, through Typer's CliRunner."""

import json
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kehu.analytics.datasets import read_cdnow
from kehu.cli.clv import app

DATA = Path(__file__).parents[2] / "data"


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    pacsv.write_csv(read_cdnow(DATA / "cdnow_sample.txt"), path)
    return path


def test_evaluate_json_prints_one_object(cdnow_csv: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--transactions",
            str(cdnow_csv),
            "--calibration-end",
            "1997-09-30",
            "--holdout-end",
            "1998-06-30",
            "--json",
        ],
    )

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n_customers"] == 2357
    bgnbd = report["models"]["bgnbd"]
    assert bgnbd["params"]["r"] == pytest.approx(0.243, abs=5e-4)
    assert bgnbd["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert bgnbd["holdout"]["total_actual"] == 1882
    assert bgnbd["holdout"]["total_predicted"] == pytest.approx(1653.4, abs=0.1)
    assert report["models"]["paretonbd"]["params"]["s"] == pytest.approx(0.61, abs=5e-3)
    assert report["models"]["gamma_gamma"]["params"]["p"] == pytest.approx(6.25, abs=5e-3)
    assert "Fitting" in result.stderr


def test_evaluate_table_on_parquet(cdnow_csv: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "cdnow.parquet"
    pq.write_table(pacsv.read_csv(cdnow_csv), parquet)

    result = CliRunner().invoke(
        app, ["evaluate", "--transactions", str(parquet), "--calibration-end", "1997-09-30"]
    )

    assert result.exit_code == 0, result.stderr
    assert "BG/NBD" in result.stdout
    assert "-9582.43" in result.stdout


def test_evaluate_reports_bad_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("customer_id,date,amount\n")

    result = CliRunner().invoke(
        app, ["evaluate", "--transactions", str(empty), "--calibration-end", "1997-09-30"]
    )

    assert result.exit_code == 1
    assert "empty" in result.stderr
    assert result.stdout == ""


def test_evaluate_counts_an_empty_customer_id_as_incomplete(tmp_path: Path) -> None:
    transactions = tmp_path / "gaps.csv"
    transactions.write_text(
        "customer_id,date,amount\n"
        "1,2020-01-01,10\n1,2020-02-01,12\n,2020-02-03,5\n"
        "2,2020-01-05,7\n2,2020-02-01,9\n3,2020-01-09,4\n"
    )

    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--transactions",
            str(transactions),
            "--calibration-end",
            "2020-02-15",
            "--json",
        ],
    )

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n_customers"] == 3  # not a fourth customer called ""
    assert report["n_incomplete_rows_excluded"] == 1
