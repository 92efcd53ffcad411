"""``kehu voice score``: score new posts, refresh spread risk and raise alerts."""

import getpass
import json
from dataclasses import asdict
from typing import Annotated

import typer

from kehu.cli._context import console, err_console, open_session
from kehu.core import Actor, KehuError

app = typer.Typer(help="Voice of the customer: posts, spread risk, alerts.", no_args_is_help=True)


@app.command("score")
def score_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON")] = False,
) -> None:
    """Score the sentiment of new posts, refresh spread risk and raise alerts (run from cron)."""
    from kehu.jobs.voice import run_voice_scoring

    try:
        with open_session() as session:
            result = run_voice_scoring(
                session, actor=Actor(kind="system", label=f"cli:{getpass.getuser()}")
            )
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    if as_json:
        console.print_json(json.dumps(asdict(result), default=str))
        return
    console.print(
        f"{result.n_scored} post(s) scored ({result.n_without_text} without text), "
        f"{result.n_mentions} demand mention(s), {result.n_risk_scored} spread risk(s) "
        f"refreshed, {result.n_alerts} new alert(s) in {result.seconds:.1f} s."
    )
