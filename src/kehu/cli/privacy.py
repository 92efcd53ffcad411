"""``kehu privacy ...``: a person's data on request."""

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from kehu.cli._context import console, err_console, open_session
from kehu.core import Actor, KehuError

app = typer.Typer(
    help="Privacy: export or erase a person's data; automated-decision opt-outs.",
    no_args_is_help=True,
)


@app.callback()
def privacy() -> None:
    """Export or erase a person's data, or record their automated-decision opt-out."""


@app.command("export")
def export_command(
    customer_id: Annotated[int, typer.Argument(help="The customer's id", min=1)],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the JSON here instead of to standard output"),
    ] = None,
) -> None:
    """Export everything stored about one customer as JSON (the export is audited)."""
    from kehu.privacy import export_customer

    if out is not None and out.exists() and out.is_dir():
        err_console.print(f"[red]Error:[/red] --out {out} is a directory; name a file.")
        raise typer.Exit(2)
    try:
        with open_session() as session:
            document = export_customer(
                session, customer_id, actor=Actor(kind="system", label=f"cli:{getpass.getuser()}")
            )
            text = json.dumps(document.model_dump(mode="json"), ensure_ascii=False, indent=2)
            if out is not None:
                # Written inside the transaction: a failed write rolls the audit entry back.
                out.write_text(text + "\n", encoding="utf-8")
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(1) from None
    except OSError as exc:
        err_console.print(f"[red]Error:[/red] cannot write {out}: {exc.strerror or exc}.")
        raise typer.Exit(1) from None
    if out is None:
        typer.echo(text)
    else:
        n = sum(len(rows) for rows in document.records.values())
        console.print(f"Exported customer {customer_id} ({n} record(s)) to {out}.")


@app.command("erase")
def erase_command(
    customer_id: Annotated[int, typer.Argument(help="The customer's id", min=1)],
    yes: Annotated[
        bool, typer.Option("--yes", help="Erase without asking (there is no undo)")
    ] = False,
) -> None:
    """Erase one customer's personal data on their request (audited; cannot be undone)."""
    from kehu.privacy import erase_customer

    if not yes and not typer.confirm(
        f"Erase the personal data of customer {customer_id}? This cannot be undone."
    ):
        err_console.print("Nothing erased.")
        raise typer.Exit(1)
    try:
        with open_session() as session:
            result = erase_customer(
                session, customer_id, actor=Actor(kind="system", label=f"cli:{getpass.getuser()}")
            )
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(1) from None
    changed = ", ".join(f"{name} {n}" for name, n in sorted(result.rows.items()))
    console.print(
        f"Erased customer {customer_id} ({changed}); {result.tombstones} identity tombstone(s)."
    )


@app.command("opt-out")
def opt_out_command(
    customer_id: Annotated[int, typer.Argument(help="The customer's id", min=1)],
    undo: Annotated[
        bool, typer.Option("--undo", help="Record that they opted back in instead")
    ] = False,
    source: Annotated[
        str, typer.Option("--source", help="How they asked (a call, a letter...)", max=200)
    ] = "",
) -> None:
    """Record that a customer opted out of automated decisions (PIPL art. 24, GDPR art. 22)."""
    from kehu.privacy import set_automated_decisions_opt_out

    try:
        with open_session() as session:
            state = set_automated_decisions_opt_out(
                session,
                customer_id,
                opted_out=not undo,
                actor=Actor(kind="system", label=f"cli:{getpass.getuser()}"),
                source=source,
            )
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(
        f"Customer {customer_id} "
        + ("has opted out of" if state.opted_out else "takes part in")
        + " automated decisions."
    )


@app.command("unblock")
def unblock_command(
    kind: Annotated[str, typer.Argument(help="email, phone, external_id, wechat...")],
    value: Annotated[str, typer.Argument(help="The identity, as the person gives it anew")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (e.g. 'came back and consented')", max=500)
    ],
) -> None:
    """Lift the erasure block of one identity so that it may be stored again (audited)."""
    from kehu.privacy import lift_erasure_block

    try:
        with open_session() as session:
            result = lift_erasure_block(
                session,
                kind,
                value,
                reason=reason,
                actor=Actor(kind="system", label=f"cli:{getpass.getuser()}"),
            )
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"The erasure block of that {result.kind} is lifted; it may be stored again.")


@app.command("retention")
def retention_command(
    years: Annotated[
        int, typer.Option("--years", help="Erase customers inactive this many years", min=1)
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List who would be erased; change nothing")
    ] = False,
) -> None:
    """Erase customers with no order, contact or ticket for ``--years`` years (audited)."""
    from kehu.privacy import run_retention

    try:
        with open_session() as session:
            report = run_retention(
                session,
                years=years,
                dry_run=dry_run,
                actor=Actor(kind="system", label=f"cli:{getpass.getuser()}"),
            )
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(1) from None
    shown = ", ".join(str(i) for i in report.customer_ids[:20])
    more = f" and {len(report.customer_ids) - 20} more" if len(report.customer_ids) > 20 else ""
    verb = "would erase" if dry_run else "erased"
    console.print(
        f"Inactive since {report.cutoff.date().isoformat()}: {verb} "
        f"{len(report.customer_ids)} customer(s){': ' + shown + more if shown else ''}."
    )
