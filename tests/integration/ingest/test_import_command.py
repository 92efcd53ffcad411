"""`kehu import` through Typer's CliRunner, against a SQLite file."""

from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from kehu.cli.imports import import_command
from kehu.commerce import OrderLine
from kehu.core import get_settings
from kehu.store import make_engine, make_session_factory, upgrade_to_head

RETAIL = Path(__file__).parents[2] / "data" / "online_retail_ii_sample.csv"
app = typer.Typer()
app.command("import")(import_command)
app.command("version")(lambda: None)  # a second command keeps "import" a sub-command
runner = CliRunner()


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade_to_head(url)
    monkeypatch.setenv("KEHU_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _n_lines(url):
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        n = session.scalar(select(func.count()).select_from(OrderLine))
    engine.dispose()
    return n


def test_import_prints_a_summary_and_writes_the_error_report(db_url, tmp_path):
    report = tmp_path / "errors.csv"

    result = runner.invoke(app, ["import", "orders", str(RETAIL), "--errors-csv", str(report)])

    assert result.exit_code == 0, result.output
    assert "178 rows read, 168 loaded, 10 reported" in result.output
    assert len(report.read_text().splitlines()) == 11
    assert _n_lines(db_url) == 168


def test_dry_run_loads_nothing(db_url):
    result = runner.invoke(app, ["import", "orders", str(RETAIL), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output
    assert _n_lines(db_url) == 0


def test_refused_file_exits_1_and_writes_nothing(db_url, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")

    result = runner.invoke(app, ["import", "orders", str(empty)])

    assert result.exit_code == 1
    assert "is empty" in result.output
    assert _n_lines(db_url) == 0


def test_mapping_option_and_format_flag(db_url, tmp_path):
    cdnow = tmp_path / "log.dat"
    cdnow.write_text(" 00004 0001 19970101  2   29.33\n")
    odd = tmp_path / "odd.csv"
    odd.write_text("Beleg,Artikel,Menge,Datum,Preis\nR1,A,1,2010-01-01,2.5\n")

    by_flag = runner.invoke(app, ["import", "orders", str(cdnow), "--format", "cdnow"])
    mapped = runner.invoke(
        app,
        [
            "import",
            "orders",
            str(odd),
            "-m",
            "order_id=Beleg",
            "-m",
            "sku=Artikel",
            "-m",
            "quantity=Menge",
            "-m",
            "ordered_at=Datum",
            "-m",
            "unit_price=Preis",
        ],
    )

    assert by_flag.exit_code == 0, by_flag.output
    assert mapped.exit_code == 0, mapped.output
    assert _n_lines(db_url) == 2
