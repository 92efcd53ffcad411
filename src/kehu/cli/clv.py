"""``kehu clv ...``: check the customer-value models on your own transaction history."""

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
    help="Customer lifetime value models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma).",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def clv() -> None:
    """Check the customer lifetime value models on your own history."""


def _clean(value: Any) -> Any:
    """Make figures JSON-safe (no NaN/inf) and plain."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _evaluate(
    transactions: Path, calibration_end: dt.date, holdout_end: dt.date | None, unit_days: float
) -> dict[str, Any]:
    from kehu.analytics import ConvergenceError, InvalidDataError
    from kehu.analytics.clv import (
        BetaGeoModel,
        GammaGammaModel,
        ModifiedBetaGeoModel,
        ParetoNBDModel,
        holdout_report,
        summarize_transactions,
        summary_info,
    )
    from kehu.analytics.datasets import read_transactions

    started = time.perf_counter()
    table = read_transactions(transactions)
    err_console.print(f"Read {table.num_rows:,} rows from {transactions.name}.")
    summary = summarize_transactions(
        table, calibration_end=calibration_end, holdout_end=holdout_end, unit_days=unit_days
    )
    info = summary_info(summary)
    err_console.print(f"Summarised {summary.num_rows:,} customers.")
    result: dict[str, Any] = {
        "transactions": str(transactions),
        "calibration_end": calibration_end.isoformat(),
        "holdout_end": holdout_end.isoformat() if holdout_end else None,
        "unit_days": unit_days,
        "n_customers": summary.num_rows,
        "n_rows": int(info["n_rows"]),
        "n_future_rows_excluded": int(info["n_future_rows"]),
        "n_incomplete_rows_excluded": int(info["n_incomplete_rows"]),
        "n_new_in_holdout_excluded": int(info["n_new_in_holdout"]),
        "models": {},
    }
    models: dict[str, Any] = {
        # Data with no visible dropout still give usable purchase rates: report, don't fail.
        "bgnbd": BetaGeoModel(unidentified_dropout="keep"),
        "mbgnbd": ModifiedBetaGeoModel(unidentified_dropout="keep"),
        "paretonbd": ParetoNBDModel(unidentified_dropout="keep"),
        "gamma_gamma": GammaGammaModel(),
    }
    for key, model in models.items():
        err_console.print(f"Fitting {model.model_name}...")
        entry: dict[str, Any] = {"model": model.model_name}
        try:
            model.fit(summary)
        except (ConvergenceError, InvalidDataError) as exc:
            entry["error"] = exc.message
            result["models"][key] = entry
            continue
        entry.update(
            params=model.params_,
            standard_errors=model.standard_errors_,
            log_likelihood=model.log_likelihood_,
            n_customers=model.n_customers_,
            n_distinct=model.n_distinct_,
        )
        if key != "gamma_gamma":
            entry["unidentified"] = model.unidentified_params_
        if key == "gamma_gamma":
            entry["n_excluded"] = model.n_excluded_
            entry["frequency_spend_correlation"] = model.frequency_spend_correlation_
        elif holdout_end is not None:
            entry["holdout"] = holdout_report(model, summary).as_dict()
        result["models"][key] = entry
    result["seconds"] = round(time.perf_counter() - started, 3)
    cleaned: dict[str, Any] = _clean(result)
    return cleaned


def _se(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2g}"


def _print(result: dict[str, Any]) -> None:
    console.print(
        f"{result['n_customers']:,} customers (calibration to {result['calibration_end']}"
        + (f", holdout to {result['holdout_end']}" if result["holdout_end"] else "")
        + f"); excluded rows: {result['n_future_rows_excluded']} future-dated, "
        f"{result['n_incomplete_rows_excluded']} incomplete."
    )
    params = Table("model", "parameters (standard error)", "log-likelihood", "customers")
    for entry in result["models"].values():
        if "error" in entry:
            params.add_row(entry["model"], f"[red]not fitted:[/red] {entry['error']}", "", "")
            continue
        shown = ", ".join(
            f"{name} {value:.4g} ({_se(entry['standard_errors'][name])})"
            for name, value in entry["params"].items()
        )
        if entry.get("unidentified"):
            shown += (
                f"\n[yellow]{', '.join(entry['unidentified'])} not identified: the data show "
                "no dropout (P(alive) near 1 for everyone)[/yellow]"
            )
        params.add_row(
            entry["model"], shown, f"{entry['log_likelihood']:.2f}", f"{entry['n_customers']:,}"
        )
    console.print(params)
    holdouts = [e for e in result["models"].values() if "holdout" in e]
    if holdouts:
        table = Table(
            "model", "predicted repeat purchases", "actual", "MAE / customer", "RMSE / customer"
        )
        for entry in holdouts:
            report = entry["holdout"]
            table.add_row(
                entry["model"],
                f"{report['total_predicted']:.1f}",
                f"{report['total_actual']}",
                f"{report['mae']:.3f}",
                f"{report['rmse']:.3f}",
            )
        console.print(table)


@app.command("evaluate")
def evaluate(
    transactions: Annotated[
        Path, typer.Option(help="CSV or Parquet with customer_id, date (or timestamp), amount")
    ],
    calibration_end: Annotated[
        dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day of the calibration period")
    ],
    holdout_end: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last day of the holdout period"),
    ] = None,
    unit_days: Annotated[float, typer.Option(help="Days per time unit (7: weeks)")] = 7.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else")
    ] = False,
) -> None:
    """Fit every CLV model on a transaction file and compare with the holdout period."""
    from kehu.core import KehuError

    try:
        result = _evaluate(
            transactions,
            calibration_end.date(),
            holdout_end.date() if holdout_end else None,
            unit_days,
        )
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result, allow_nan=False))
    else:
        _print(result)
