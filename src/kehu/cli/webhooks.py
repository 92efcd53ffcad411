"""``kehu webhooks``: deliver due webhooks (cron), list subscriptions."""

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from kehu.cli._context import console, open_session
from kehu.core import get_settings

app = typer.Typer(help="Webhooks out: delivery and subscriptions.", no_args_is_help=True)


@app.command("deliver")
def deliver_command(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many")] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON")] = False,
) -> None:
    """Send every webhook delivery that is due now, once (run from cron, or use `kehu serve`)."""
    from kehu.jobs.webhooks import deliver_due
    from kehu.store import make_engine, make_session_factory

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        run = deliver_due(make_session_factory(engine), settings, limit=limit)
    finally:
        engine.dispose()
    if as_json:
        console.print_json(json.dumps(asdict(run)))
        return
    console.print(
        f"{run.n_sent} sent: {run.n_delivered} delivered, {run.n_retrying} to retry, "
        f"{run.n_failed} given up; {len(run.disabled_subscriptions)} subscription(s) disabled."
    )


@app.command("list")
def list_command() -> None:
    """List the webhook subscriptions and their state."""
    from kehu.webhooks import list_subscriptions

    table = Table("id", "name", "url", "events", "state", "failures in a row")
    with open_session() as session:
        for sub in list_subscriptions(session):
            state = "active" if sub.is_active else f"disabled: {sub.disabled_reason}"
            table.add_row(
                str(sub.id),
                sub.name,
                sub.url,
                ", ".join(sub.event_types),
                state,
                str(sub.n_consecutive_failures),
            )
    console.print(table)
