"""``kehu analyze``: score every customer's value now and print what came out."""

import datetime as dt
import getpass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from kehu.cli._context import console, err_console, open_session
from kehu.cli.health import health_step
from kehu.cli.relations import relations_step
from kehu.core import Actor, KehuError, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kehu.core import Settings
    from kehu.jobs.recommend import OrderLineSource
    from kehu.value import TierSize, ValueRun


def analyze_command(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Observation end, YYYY-MM-DD (default: the newest order)"),
    ] = None,
    horizon_weeks: Annotated[
        int | None, typer.Option("--horizon-weeks", help="CLV horizon in weeks", min=1, max=520)
    ] = None,
    vip_share: Annotated[
        float | None,
        typer.Option("--vip-share", help="Share of customers that are VIP (0.2 = top 20 %)"),
    ] = None,
    holdout_weeks: Annotated[
        int | None,
        typer.Option("--holdout-weeks", help="Holdout check length; 0 skips it", min=0, max=260),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="Compute the order and order-line aggregates on duckdb or spark (with --input)",
        ),
    ] = None,
    input_dir: Annotated[
        str | None,
        typer.Option("--input", help="Parquet directory from `kehu export parquet`"),
    ] = None,
) -> None:
    """Compute CLV, P(alive), value tiers, RFM segments and VIP owners for every customer."""
    from kehu import value
    from kehu.jobs import run_value_analysis

    settings = get_settings()
    day = None
    if as_of is not None:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            err_console.print(
                f"[red]Error:[/red] --as-of must be a date like 2011-12-09, not {as_of!r}."
            )
            raise typer.Exit(1) from None
    from kehu.batch import open_input

    try:
        with open_session() as session, open_input(engine, input_dir) as opened:
            computed = None if opened is None else opened.orders(as_of=day)
            with console.status("Scoring customer value..."):
                run = run_value_analysis(
                    session,
                    actor=Actor(kind="system", label=f"cli:{getpass.getuser()}"),
                    as_of=day,
                    horizon_weeks=horizon_weeks or settings.value_horizon_weeks,
                    discount_rate_annual=settings.value_discount_rate_annual,
                    vip_share=vip_share if vip_share is not None else settings.vip_share,
                    holdout_weeks=holdout_weeks,
                    computed=computed,
                )
            if run.status != value.ValueRunStatus.SUCCEEDED:
                err_console.print(f"[red]Run {run.id} failed.[/red] {run.message}")
                failed = True
            else:
                failed = False
                _print_run(run)
                _print_tiers(value.tier_summary(session), run.currency)
                share = value.pareto_share(session, run.vip_share)
                console.print(
                    f"[bold]{run.vip_share:.0%}[/bold] of customers bring "
                    f"[bold]{share:.0%}[/bold] of predicted value."
                )
                if run.message:
                    console.print(f"[yellow]Note:[/yellow] {run.message}")
            _train_recommender(
                session, settings, source=None if opened is None else opened.purchases()
            )
            health_step(session, day, source=None if opened is None else opened.health())
            relations_step(
                session,
                day or run.observation_end,
                source=None if opened is None else opened.order_facts(),
            )
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    if failed:
        raise typer.Exit(1)


def _print_run(run: "ValueRun") -> None:
    console.print(
        f"Run {run.id}: {run.n_scored:,} of {run.n_customers:,} customers scored "
        f"(data up to {run.observation_end}, {run.n_orders:,} orders), "
        f"horizon {run.horizon_weeks} weeks, discount {run.discount_rate_annual:.0%} a year."
    )
    table = Table("model", "parameter", "estimate", "std. error", title="Fitted models")
    for key in ("purchases", "spend"):
        figures = run.parameters.get(key, {})
        for name, estimate in figures.get("params", {}).items():
            error = figures.get("standard_errors", {}).get(name)
            table.add_row(
                figures.get("model", key),
                name,
                f"{estimate:.4g}",
                "" if error is None else f"{error:.3g}",
            )
    console.print(table)
    holdout = run.metrics.get("holdout", {})
    if "total_predicted" in holdout:
        console.print(
            f"Holdout check ({holdout['holdout_weeks']:.0f} weeks from {run.calibration_end}): "
            f"predicted {holdout['total_predicted']:,.0f} repeat purchases, actual "
            f"{holdout['total_actual']:,}; mean absolute error per customer {holdout['mae']:.2f}."
        )
    elif "skipped" in holdout:
        console.print(f"Holdout check skipped: {holdout['skipped']}")


def _print_tiers(tiers: "list[TierSize]", currency: str) -> None:
    table = Table("tier", "customers", "share", f"CLV ({currency})", "value share", title="Tiers")
    for tier in tiers:
        table.add_row(
            str(tier.tier.value),
            f"{tier.n_customers:,}",
            f"{tier.customer_share:.0%}",
            f"{tier.clv:,.2f}",
            f"{tier.value_share:.0%}",
        )
    console.print(table)


def _train_recommender(
    session: "Session", settings: "Settings", *, source: "OrderLineSource | None" = None
) -> None:
    """Train the recommender after the value analysis (issue 4) and say how it went.

    ``source`` gives the order lines (a batch engine's with ``--engine``); default the store.
    """
    from kehu.jobs.recommend import train_recommender

    with console.status("Training the recommender..."):
        report = train_recommender(session, settings=settings, source=source)
    if report.trained:
        console.print(
            f"Recommender trained on {report.n_lines:,} order lines ({report.n_customers:,} "
            f"customers, {report.n_items:,} items) in {report.seconds:.1f} s; saved in "
            f"{report.path}."
        )
    else:
        console.print(f"[yellow]Recommender not trained:[/yellow] {report.message}")
