"""``kehu health ...``: check the relationship-health stages and churn model on your own history."""

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Relationship health: experience stages, churn risk, cohorts, retention value.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

#: Exit status for input the command cannot use (bad file, columns or dates), as click uses.
BAD_INPUT = 2
#: Import fields (kehu.ingest) → the column names kehu.analytics.health reads.
_FIELDS = {
    "customer_id": "customer_id",
    "order_id": "order_id",
    "ordered_at": "timestamp",
    "sku": "item_id",
    "quantity": "quantity",
    "unit_price": "unit_price",
    "discount": "discount",
}


@app.callback()
def health() -> None:
    """Check relationship-health stages and churn risk on your own history."""


def _header(path: Path) -> list[str]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


def read_lines(path: Path) -> Any:
    """Read a CSV or Parquet file of order lines, naming its columns as the analysis reads them.

    Columns are recognised as the importer recognises them (``Invoice``, ``StockCode``,
    ``InvoiceDate``, ``Price``, ``Customer ID``... or ``order_id``, ``item_id``,
    ``timestamp``, ``unit_price``, ``customer_id``).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from kehu.analytics import InvalidDataError
    from kehu.ingest.mapping import suggest_mapping

    if not path.is_file():
        raise InvalidDataError(f"No such file: {path}.", code="analytics.no_file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        elif suffix in (".csv", ".txt"):
            names = _header(path)
            mapping = suggest_mapping("orders", names)
            text = {
                mapping[field]: pa.string()
                for field in ("order_id", "sku", "customer_id")
                if field in mapping
            }
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=text))
        else:
            raise InvalidDataError(
                f"{path.name}: expected a .csv or .parquet file.", code="analytics.bad_format"
            )
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise InvalidDataError(
            f"Could not read {path.name}: {exc}", code="analytics.bad_format"
        ) from exc
    mapping = suggest_mapping("orders", table.column_names)
    columns = {
        _FIELDS[field]: table.column(source)
        for field, source in mapping.items()
        if field in _FIELDS
    }
    for name in ("timestamp", "item_id"):
        if name not in columns and name in table.column_names:
            columns[name] = table.column(name)
    return pa.table(columns)


def _evaluate(orders: Path, as_of: dt.date, window_days: int) -> dict[str, Any]:
    from kehu.analytics.health import evaluate_health

    started = time.perf_counter()
    lines = read_lines(orders)
    err_console.print(f"Read {lines.num_rows:,} lines from {orders.name}.")
    result = evaluate_health(lines, as_of=as_of, window_days=window_days)
    return {
        "orders": str(orders),
        "n_lines": lines.num_rows,
        **result,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: Any, fmt: str = ".2f") -> str:
    return "-" if value is None else format(value, fmt)


def _print(result: dict[str, Any]) -> None:
    console.print(
        f"{result['n_customers']:,} customers at {result['as_of']} (data {result['data_from']} to "
        f"{result['data_to']}); {_pct(result['churn_rate'])} bought nothing in the next "
        f"{result['window_days']} days. Discounted = "
        + (
            "the lines' discount field."
            if result["discount_basis"] == "field"
            else "unit price > 5 % below the item's typical (median) price."
        )
    )
    table = Table(
        "stage",
        "customers",
        "share",
        "churn next period",
        "lift vs all",
        "vs mature",
        "next spend",
        "spend index",
        title="Stages and what happened next",
    )
    for row in result["stages"]:
        table.add_row(
            row["stage"],
            f"{row['n_customers']:,}",
            _pct(row["share"]),
            _pct(row["churn_rate"]),
            _num(row["churn_lift"]),
            _num(row["churn_vs_mature"]),
            _num(row["mean_next_spend"], ",.0f"),
            _num(row["spend_index"]),
        )
    console.print(table)
    churn = result["churn"]
    auc = Table(
        "customers",
        "n",
        "churn rate",
        "AUC model",
        "AUC P(alive)",
        "AUC recency",
        title=f"Churn model (fitted at {churn['train_as_of']}, held-out after {result['as_of']})",
    )
    for key, label in (("all", "all"), ("active", "bought within the lapse window")):
        part = churn[key]
        auc.add_row(
            label,
            f"{part['n_customers']:,}",
            _pct(part["churn_rate"]),
            _num(part["auc_model"], ".3f"),
            _num(part["auc_p_alive"], ".3f"),
            _num(part["auc_recency"], ".3f"),
        )
    console.print(auc)
    value = result.get("retention_value")
    if value:
        console.print(
            f"Retention {value['retention']:.1%} per {value['period_days']} days; keeping "
            f"customers {value['uplift']:.0%} more ({value['improved_retention']:.1%}) is worth "
            f"[bold]{value['value_change']:+.1%}[/bold] of predicted value over "
            f"{value['periods']} periods ({value['added_value']:,.0f} on "
            f"{value['base_value']:,.0f}), {value['lifetime_value_change']:+.1%} over a "
            f"lifetime; the seed claims +{value['seed_claim_low']:.0%} to "
            f"+{value['seed_claim_high']:.0%} profit."
        )


@app.command("evaluate")
def evaluate(
    orders: Annotated[
        Path,
        typer.Option(
            help="CSV or Parquet of order lines: customer, order, time, item, quantity, "
            "unit price [, discount] (Online Retail II's columns are recognised)"
        ),
    ],
    as_of: Annotated[
        dt.datetime,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="The split: stages and risk use the data up to this day; the next window "
            "tells who churned",
        ),
    ],
    window_days: Annotated[
        int, typer.Option("--window-days", min=7, max=730, help="Days per window")
    ] = 90,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else")
    ] = False,
) -> None:
    """Stage customers at AS_OF and measure churn and spend in the window after it."""
    from kehu.core import KehuError

    try:
        result = _evaluate(orders, as_of.date(), window_days)
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(BAD_INPUT) from None
    if as_json:
        typer.echo(json.dumps(result, allow_nan=False))
    else:
        _print(result)


def health_step(session: Any, as_of: dt.date | None, *, source: Any = None) -> None:
    """Run the health analysis inside ``kehu analyze`` (after the value step); say how it went.

    ``source`` is where the order lines' aggregates come from (a batch engine's with
    ``--engine``); by default the store.
    """
    from kehu.core import Actor
    from kehu.health import HealthRunStatus
    from kehu.jobs.health import run_health_analysis

    with console.status("Staging relationship health..."):
        run = run_health_analysis(
            session, actor=Actor.system("kehu analyze"), as_of=as_of, source=source
        )
    if run.status != HealthRunStatus.SUCCEEDED:
        console.print(f"[yellow]Health analysis {run.id} failed:[/yellow] {run.message}")
        return
    stages = run.metrics.get("stages", {})
    console.print(
        f"Health {run.id}: {run.n_customers:,} customers staged at {run.as_of} ("
        + ", ".join(f"{name.replace('_', ' ')} {n:,}" for name, n in stages.items())
        + f"); {run.n_tasks} task(s) for owners."
    )
    check = run.metrics.get("churn", {}).get("check", {})
    if check.get("auc_model") is not None:
        console.print(
            f"Churn model held-out AUC {check['auc_model']:.3f} (P(alive) alone "
            f"{check['auc_p_alive'] or 0:.3f}, recency alone {check['auc_recency'] or 0:.3f})."
        )
    if run.message:
        console.print(f"[yellow]Note:[/yellow] {run.message}")
