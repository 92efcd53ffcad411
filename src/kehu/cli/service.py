"""``kehu train categories`` and ``kehu service import-mail FILE``."""

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kehu.cli._context import console, err_console, open_session
from kehu.core import Actor, KehuError, get_settings

train_app = typer.Typer(help="Train the models kehu learns from your data.", no_args_is_help=True)
service_app = typer.Typer(help="The service desk: tickets from e-mail.", no_args_is_help=True)


def _actor(label: str) -> Actor:
    return Actor(kind="system", label=f"{label} ({getpass.getuser()})")


def _emit(result: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        for line in lines:
            console.print(line)


@train_app.command("categories")
def train_categories(
    route: Annotated[
        bool,
        typer.Option("--route/--no-route", help="Then route the tickets waiting in triage"),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Retrain the ticket category classifier on agents' labels (their corrections).

    Exits 1 when there are too few labels (the message says how many are needed).
    """
    from kehu.jobs.service import category_model_path, route_new_tickets, train_category_model
    from kehu.service import TicketFilter, list_tickets

    settings = get_settings()
    actor = _actor("kehu train categories")
    try:
        with open_session() as session:
            report = train_category_model(session, path=category_model_path(settings), actor=actor)
            routed = None
            if route:
                waiting, _ = list_tickets(
                    session, TicketFilter(in_triage=True, is_open=True), limit=100_000
                )
                routed = route_new_tickets(
                    session, [t.id for t in waiting], settings=settings, actor=actor
                )
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    result: dict[str, Any] = {
        "n_labels": report.n_labels,
        "n_categories": report.n_categories,
        "path": report.path,
        "seconds": report.seconds,
        "n_routed": routed.n_routed if routed else 0,
        "n_still_in_triage": routed.n_triage if routed else 0,
    }
    lines = [
        f"Trained on {report.n_labels:,} labels in {report.n_categories} categories "
        f"({report.seconds:.1f} s); saved to {report.path}.",
    ]
    if routed is not None:
        lines.append(
            f"Triage: {routed.n_routed:,} tickets routed, {routed.n_triage:,} still need a person."
        )
    _emit(result, as_json, lines)


@service_app.command("import-mail")
def import_mail_command(
    file: Annotated[Path, typer.Argument(help="An .eml file or an mbox archive")],
    route: Annotated[
        bool, typer.Option("--route/--no-route", help="Classify and route the new tickets")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Turn each message of an .eml or mbox file into a ticket.

    Messages that cannot be read are listed (with their line) and skipped; exits 1 only when
    the file itself cannot be read.
    """
    from kehu.ingest.email import import_mail
    from kehu.jobs.service import route_new_tickets

    settings = get_settings()
    try:
        data = file.read_bytes()
    except OSError as exc:
        err_console.print(f"[red]Error:[/red] cannot read {file}: {exc.strerror}.")
        raise typer.Exit(1) from exc
    if len(data) > settings.max_upload_bytes:
        err_console.print(
            f"[red]Error:[/red] {file} is larger than {settings.max_upload_bytes:,} bytes "
            "(KEHU_MAX_UPLOAD_BYTES); split it."
        )
        raise typer.Exit(1)
    actor = _actor("kehu service import-mail")
    with open_session() as session:
        report = import_mail(session, data, filename=file.name, actor=actor)
        routed = (
            route_new_tickets(session, report.ticket_ids, settings=settings, actor=actor)
            if route
            else None
        )
    result: dict[str, Any] = {
        "file": str(file),
        "n_messages": report.n_messages,
        "n_created": report.n_created,
        "n_duplicates": report.n_duplicates,
        "n_matched_customers": report.n_matched_customers,
        "n_routed": routed.n_routed if routed else 0,
        "n_triage": routed.n_triage if routed else 0,
        "ticket_ids": report.ticket_ids,
        "errors": [vars(e) for e in report.errors],
        "warnings": [vars(w) for w in report.warnings],
    }
    lines = [
        f"{report.n_messages:,} messages: {report.n_created:,} tickets created "
        f"({report.n_matched_customers:,} from known customers), "
        f"{report.n_duplicates:,} already imported, {len(report.errors):,} not readable."
    ]
    if routed is not None:
        lines.append(f"Routed {routed.n_routed:,}; {routed.n_triage:,} wait in triage.")
    lines += [f"  message {e.index} (line {e.line}): {e.message}" for e in report.errors[:20]]
    lines += [f"  warning, message {w.index}: {w.message}" for w in report.warnings[:20]]
    _emit(result, as_json, lines)


@service_app.command("score-sentiment")
def score_sentiment_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Score the sentiment of unrated tickets' last customer messages (QA "perception")."""
    from kehu.jobs.service import score_sentiment

    try:
        with open_session() as session:
            n_scored = score_sentiment(session, actor=_actor("kehu service score-sentiment"))
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    _emit({"n_scored": n_scored}, as_json, [f"Scored the sentiment of {n_scored:,} tickets."])
