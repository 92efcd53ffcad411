"""``kehu recommend ...``: check the recommenders on your own order history."""

import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Recommendations (buy-again, also-bought, bought-together, blended).",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

#: Exit status for input the command cannot use (bad file, columns or dates), as click uses.
BAD_INPUT = 2
_LABELS = {
    "popularity": "popularity baseline",
    "kehu_buy_again": "kehu buy-again",
    "kehu_item_item": "kehu item-item",
    "kehu_blend": "kehu blend",
}


@app.callback()
def recommend() -> None:
    """Check the recommenders on your own history."""


def read_order_lines(path: Path) -> Any:
    """Read a CSV or Parquet file of order lines (ids kept as text)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from kehu.analytics import InvalidDataError

    if not path.is_file():
        raise InvalidDataError(f"No such file: {path}.", code="analytics.no_file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if suffix in (".csv", ".txt", ".gz"):
            text = {name: pa.string() for name in ("customer_id", "order_id", "item_id")}
            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=text))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidDataError(
            f"Could not read {path.name}: {exc}", code="analytics.bad_format"
        ) from exc
    raise InvalidDataError(
        f"{path.name}: expected a .csv or .parquet file.", code="analytics.bad_format"
    )


def _clean(value: Any) -> Any:
    """Make figures JSON-safe (no NaN/inf)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _evaluate(orders: Path, test_from: dt.datetime, k: int) -> dict[str, Any]:
    from kehu.analytics.recommend import evaluate_recommenders, split_at

    started = time.perf_counter()
    lines = read_order_lines(orders)
    err_console.print(f"Read {lines.num_rows:,} lines from {orders.name}.")
    train, test = split_at(lines, test_from.replace(tzinfo=dt.UTC))
    err_console.print(
        f"Training on {train.num_rows:,} lines before {test_from:%Y-%m-%d %H:%M}, "
        f"testing on {test.num_rows:,}."
    )
    result = evaluate_recommenders(
        train, test, k=k, progress=lambda message: err_console.print(message)
    )
    cleaned: dict[str, Any] = _clean(
        {
            "orders": str(orders),
            "test_from": test_from.replace(tzinfo=dt.UTC).isoformat(),
            "n_lines": lines.num_rows,
            "n_train_lines": train.num_rows,
            "n_test_lines": test.num_rows,
            **result,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
    return cleaned


def _print(result: dict[str, Any]) -> None:
    k = result["k"]
    console.print(
        f"{result['n_customers']:,} customers bought before and after {result['test_from']}"
        f" ({result['n_cross_sell_customers']:,} bought something new: the cross-sell cases)."
    )
    for variant, title in (
        ("all", "All items bought in the test period"),
        ("cross_sell", "Cross-sell: items the customer had not bought before"),
    ):
        table = Table(
            "model",
            f"P@{k}",
            f"R@{k}",
            f"HR@{k}",
            f"MAP@{k}",
            f"NDCG@{k}",
            "fit (s)",
            title=title,
        )
        for name, entry in result["models"].items():
            m = entry[variant]
            table.add_row(
                _LABELS.get(name, name),
                *(f"{m[key]:.4f}" for key in ("precision", "recall", "hit_rate", "map", "ndcg")),
                f"{entry['fit_seconds']:.2f}",
            )
        console.print(table)
    for name, ratio in result.get("ratios", {}).items():
        shown = "n/a (a model is missing or scored 0)" if ratio is None else f"{ratio:.2f}x"
        console.print(f"{name.replace('_', ' ')}: {shown}")


@app.command("evaluate")
def evaluate(
    orders: Annotated[
        Path,
        typer.Option(help="CSV or Parquet: customer_id, order_id, item_id, timestamp [, quantity]"),
    ],
    test_from: Annotated[
        dt.datetime,
        typer.Option(
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
            help="Start of the test period (UTC); the models train on what comes before",
        ),
    ],
    k: Annotated[int, typer.Option(min=1, max=1000, help="Length of each list")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else")
    ] = False,
) -> None:
    """Train on the orders before TEST_FROM and measure P, R, HR, MAP, NDCG at k after it."""
    from kehu.core import KehuError

    try:
        result = _evaluate(orders, test_from, k)
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(BAD_INPUT) from None
    if as_json:
        typer.echo(json.dumps(result, allow_nan=False))
    else:
        _print(result)
