"""``kehu recommend evaluate`` on a slice of Online Retail II, through Typer's CliRunner."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kehu.cli.main import app

SLICE = Path(__file__).parents[2] / "data" / "recs" / "online_retail_ii_recs.csv"
MODELS = {"popularity", "kehu_buy_again", "kehu_item_item", "kehu_blend"}
METRICS = {"precision", "recall", "hit_rate", "map", "ndcg", "n_customers"}


def _run(*args: str) -> object:
    return CliRunner().invoke(app, ["recommend", "evaluate", *args])


def test_json_is_one_object_with_both_variants() -> None:
    result = _run("--orders", str(SLICE), "--test-from", "2010-10-26", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)  # one object, nothing else on stdout
    assert result.stdout.strip().startswith("{")
    assert result.stdout.strip().endswith("}")
    assert "Fitting" in result.stderr
    assert report["k"] == 10
    assert report["test_from"] == "2010-10-26T00:00:00+00:00"
    assert report["n_train_lines"] + report["n_test_lines"] < report["n_lines"]  # returns out
    assert 100 <= report["n_customers"] <= 120
    assert 0 < report["n_cross_sell_customers"] <= report["n_customers"]
    assert set(report["models"]) == MODELS
    for entry in report["models"].values():
        assert set(entry["all"]) == METRICS
        assert set(entry["cross_sell"]) == METRICS
        assert entry["all"]["n_customers"] == report["n_customers"]
        assert entry["cross_sell"]["n_customers"] == report["n_cross_sell_customers"]
        for variant in ("all", "cross_sell"):
            for name in METRICS - {"n_customers"}:
                assert 0.0 <= entry[variant][name] <= 1.0
    models = report["models"]
    assert models["kehu_buy_again"]["all"]["ndcg"] > 2 * models["popularity"]["all"]["ndcg"]


def test_table_on_parquet_with_k(tmp_path: Path) -> None:
    parquet = tmp_path / "orders.parquet"
    table = pacsv.read_csv(
        SLICE,
        convert_options=pacsv.ConvertOptions(
            column_types={"order_id": pa.string(), "item_id": pa.string()}
        ),
    )
    pq.write_table(table, parquet)

    result = _run("--orders", str(parquet), "--test-from", "2010-10-26 00:00:00", "--k", "5")

    assert result.exit_code == 0, result.stderr
    assert "NDCG@5" in result.stdout
    assert "Cross-sell" in result.stdout
    assert "kehu blend" in result.stdout
    assert "all items ndcg blend over buy again: " in result.stdout


@pytest.mark.parametrize(
    ("make", "test_from", "message"),
    [
        (lambda d: d / "missing.csv", "2010-10-26", "No such file"),
        (lambda d: _write(d / "orders.xlsx", "x"), "2010-10-26", "expected a .csv or .parquet"),
        (
            lambda d: _write(d / "orders.csv", "customer_id,order_id,timestamp\n1,a,2010-01-01\n"),
            "2010-10-26",
            "lacks the column(s) item_id",
        ),
        (
            lambda d: _write(
                d / "orders.csv",
                "customer_id,order_id,item_id,timestamp\n1,a,x,last tuesday\n2,b,y,soon\n",
            ),
            "2010-10-26",
            "not a date or time",
        ),
        (lambda _: SLICE, "2030-01-01", "Pick a date inside"),
        (lambda d: _write(d / "orders.parquet", "not parquet"), "2010-10-26", "Could not read"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, make, test_from: str, message: str
) -> None:
    result = _run("--orders", str(make(tmp_path)), "--test-from", test_from, "--json")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_a_date_that_does_not_parse_is_a_usage_error() -> None:
    result = _run("--orders", str(SLICE), "--test-from", "26/10/2010")

    assert result.exit_code == 2
    assert "--test-from" in result.stderr


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
