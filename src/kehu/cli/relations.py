"""``kehu rules`` and ``kehu relations``: playbook rules, cadence, reminders, surprises."""

import csv
import datetime as dt
import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from kehu.cli._context import console, err_console, open_session
from kehu.core import Actor, KehuError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kehu.jobs.relations import OrderFactsSource, RelationsReport
    from kehu.playbooks.rules import PlannedAction

rules_app = typer.Typer(help="Playbook rules: conditions as data, a dry run.", no_args_is_help=True)
relations_app = typer.Typer(
    help="Keeping in touch, surprises, the contact budget, referrals.", no_args_is_help=True
)

AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="The day the facts describe, YYYY-MM-DD (default: today)"),
]


def _actor() -> Actor:
    return Actor(kind="system", label=f"cli:{getpass.getuser()}")


def _day(as_of: str | None) -> dt.date | None:
    if as_of is None:
        return None
    try:
        return dt.date.fromisoformat(as_of)
    except ValueError:
        err_console.print(
            f"[red]Error:[/red] --as-of must be a date like 2011-12-09, not {as_of!r}."
        )
        raise typer.Exit(1) from None


def _print_plans(plans: "list[PlannedAction]", limit: int = 50) -> None:
    table = Table("rule", "action", "customer", "evidence", title=f"{len(plans)} planned action(s)")
    for plan in plans[:limit]:
        evidence = ", ".join(f"{k}={v}" for k, v in plan.evidence.items())
        table.add_row(plan.rule, plan.action, str(plan.customer_id), evidence)
    console.print(table)
    if len(plans) > limit:
        console.print(f"... and {len(plans) - limit} more.")


@rules_app.command("run")
def rules_run_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what the rules would do; change nothing")
    ] = False,
    as_of: AsOf = None,
) -> None:
    """Evaluate the stored rules against every customer and carry their actions out."""
    from kehu.jobs.relations import plan_rules
    from kehu.playbooks.rules import execute

    day = _day(as_of)
    try:
        with open_session() as session:
            plans, invalid = plan_rules(session, as_of=day)
            for name, why in invalid:
                err_console.print(f"[yellow]Rule {name!r} not run:[/yellow] {why}")
            _print_plans(plans)
            if dry_run:
                session.rollback()
                console.print("Dry run: nothing was changed.")
                return
            report = execute(session, plans, actor=_actor())
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"{len(report.done)} action(s) done, {len(report.failed)} failed.")
    for plan, why in report.failed[:20]:
        err_console.print(f"  {plan.rule} for customer {plan.customer_id}: {why}")
    if report.failed:
        raise typer.Exit(1)


@rules_app.command("list")
def rules_list_command() -> None:
    """List the stored rules (a rule that no longer validates is flagged)."""
    from kehu.playbooks.rules import load_rules

    with open_session() as session:
        stored = load_rules(session, active_only=False)
        table = Table("name", "priority", "active", "action", "when", title="Rules")
        from kehu.playbooks.rules import dump_condition

        for rule in stored.rules:
            table.add_row(
                rule.name,
                str(rule.priority),
                "yes" if rule.is_active else "no",
                rule.action,
                str(dump_condition(rule.when)),
            )
        console.print(table)
        for name, why in stored.invalid:
            err_console.print(f"[yellow]{name}:[/yellow] {why}")


@rules_app.command("seed")
def rules_seed_command() -> None:
    """Store the default rules, cadence policies and surprise catalogue when there are none."""
    with open_session() as session:
        counts = seed_defaults(session, actor=_actor())
    console.print(", ".join(f"{n} {what}" for what, n in counts.items()) + " added.")


def seed_defaults(session: "Session", *, actor: Actor) -> dict[str, int]:
    """Seed rules, cadence policies and the surprise catalogue where empty."""
    from kehu.playbooks.rules import seed_default_rules
    from kehu.relations import seed_cadence_policies, seed_surprises

    return {
        "rule(s)": seed_default_rules(session, actor=actor),
        "cadence policy(ies)": seed_cadence_policies(session, actor=actor),
        "surprise(s)": seed_surprises(session, actor=actor),
    }


def print_relations_report(report: "RelationsReport") -> None:
    """Print what a relationship run did, one line per step."""
    console.print(
        f"Relationship playbooks as of {report.as_of}: {report.n_customers:,} customers"
        f"{' (dry run: nothing changed)' if report.dry_run else ''}."
    )
    table = Table(
        "step",
        "candidates",
        "opened",
        "refreshed",
        "closed before",
        "waited",
        "dropped",
        title="Tasks",
    )
    for name in ("cadence", "service", "surprises"):
        step = getattr(report, name)
        table.add_row(
            name,
            f"{step.n_candidates:,}",
            f"{step.n_opened:,}",
            f"{step.n_refreshed:,}",
            f"{step.n_closed_before:,}",
            f"{step.n_waited:,}",
            f"{step.n_dropped:,}",
        )
    table.add_row(
        "rules", f"{report.rules.n_candidates:,}", f"{report.rules.n_opened:,}", "", "", "", ""
    )
    console.print(table)
    for name in ("cadence", "service", "surprises", "rules"):
        for note in getattr(report, name).notes[:10]:
            console.print(f"  {name}: {note}")


@relations_app.command("run")
def relations_run_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Change nothing")] = False,
    as_of: AsOf = None,
) -> None:
    """Run cadence, free-service reminders, surprise selection and the rules now."""
    from kehu.jobs.relations import run_relations

    day = _day(as_of)
    try:
        with open_session() as session:
            report = run_relations(session, actor=_actor(), as_of=day, dry_run=dry_run)
            if dry_run:
                session.rollback()
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    print_relations_report(report)


@relations_app.command("import-referrals")
def import_referrals_command(
    path: Annotated[Path, typer.Argument(help="CSV with columns referrer, referred[, date, note]")],
) -> None:
    """Record who brought whom from a CSV (customers named by external id or kehu id)."""
    from kehu.relations import import_referrals

    if not path.is_file():
        err_console.print(f"[red]Error:[/red] there is no file {path}.")
        raise typer.Exit(1)
    if path.stat().st_size > 20 * 1024 * 1024:
        err_console.print("[red]Error:[/red] the file is over 20 MB; split it.")
        raise typer.Exit(1)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        err_console.print(f"[red]Error:[/red] {path} is not a UTF-8 CSV file ({exc}).")
        raise typer.Exit(1) from None
    with open_session() as session:
        report = import_referrals(session, rows, actor=_actor())
    console.print(f"{report.n_recorded} referral(s) recorded, {len(report.errors)} row(s) refused.")
    for line, why in report.errors[:50]:
        err_console.print(f"  line {line}: {why}")
    if report.errors:
        raise typer.Exit(1)


def relations_step(
    session: "Session",
    as_of: dt.date | None = None,
    *,
    source: "OrderFactsSource | None" = None,
) -> None:
    """Run the ``kehu analyze`` step: cadence, reminders, surprises and rules after scoring.

    ``source`` gives the order facts (a batch engine's with ``--engine``); default the store.
    """
    from kehu.jobs.relations import run_relations

    with console.status("Running the relationship playbooks..."):
        report = run_relations(session, actor=_actor(), as_of=as_of, source=source)
    print_relations_report(report)
