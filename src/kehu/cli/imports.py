"""``kehu import KIND FILE``: load a file into the store from the command line.

Exit status: 0 when the file was read (even if some rows were reported and not loaded: the
summary and ``--errors-csv`` list them), 1 when the file as a whole was refused (nothing is
written then).
"""

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import kehu.models  # noqa: F401 - every table registered
from kehu.core import Actor, KehuError, get_settings
from kehu.ingest import FORMATS, errors_csv, run_import
from kehu.store import make_engine, make_session_factory, session_scope

SHOWN_ERRORS = 20


def _parse_mapping(items: list[str] | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items or []:
        text = item.strip()
        if text.startswith("{"):
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError as exc:
                raise typer.BadParameter(f"--map JSON is not valid: {exc.msg}") from exc
            if not isinstance(loaded, dict):
                raise typer.BadParameter("--map JSON must be an object {field: column}")
            mapping.update({str(k): str(v) for k, v in loaded.items()})
            continue
        field, sep, column = text.partition("=")
        if not sep or not field.strip():
            raise typer.BadParameter(f"--map {item!r}: write FIELD=COLUMN (e.g. sku=StockCode)")
        mapping[field.strip()] = column.strip()
    return mapping


def import_command(
    kind: Annotated[
        str, typer.Argument(help="What the file holds: customers, products, orders...")
    ],
    file: Annotated[
        Path, typer.Argument(help="CSV, XLSX, JSONL, Parquet or a CDNOW log", show_default=False)
    ],
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            "-m",
            help="FIELD=COLUMN (repeatable) or a JSON object; __date_format__=%d/%m/%Y for "
            "ambiguous dates",
        ),
    ] = None,
    mapping_name: Annotated[
        str | None, typer.Option("--mapping", help="Name of a saved mapping to use")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count, write nothing but the run")
    ] = False,
    file_format: Annotated[
        str | None,
        typer.Option("--format", help=f"One of {', '.join(FORMATS)} (default: from the file)"),
    ] = None,
    errors_path: Annotated[
        Path | None, typer.Option("--errors-csv", help="Write every row problem to this CSV")
    ] = None,
) -> None:
    """Import a file; rows with problems are reported and skipped, the rest load.

    Exits 1 when the file is refused as a whole (nothing written), 0 otherwise.
    """
    console = Console()
    err = Console(stderr=True)
    try:
        columns = _parse_mapping(mapping)
    except typer.BadParameter as exc:
        err.print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if not file.is_file():
        err.print(f"[red]Error:[/red] {file} does not exist or is not a file.")
        raise typer.Exit(1)
    settings = get_settings()
    actor = Actor(kind="import", label=f"cli:{getpass.getuser()}")
    engine = make_engine(settings.database_url)
    try:
        with (
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            ) as bar,
            session_scope(make_session_factory(engine)) as session,
        ):
            task = bar.add_task(f"{kind} from {file.name}", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            run = run_import(
                session,
                kind=kind,
                data=file,
                filename=file.name,
                actor=actor,
                mapping=columns or None,
                mapping_name=mapping_name,
                dry_run=dry_run,
                progress=progress,
                max_bytes=settings.max_upload_bytes,
                file_format=file_format,
            )
    except KehuError as exc:
        err.print(f"[red]Refused:[/red] {exc.message}")
        err.print("Nothing was written.")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()

    title = f"{'Dry run' if dry_run else 'Import'} #{run.id}: {kind} from {file.name}"
    summary = Table("what", "created", "updated", "unchanged", title=title)
    for entity, counts in run.counts.items():
        if {"created", "updated", "unchanged"} & set(counts):
            summary.add_row(
                entity,
                f"{counts.get('created', 0):,}",
                f"{counts.get('updated', 0):,}",
                f"{counts.get('unchanged', 0):,}",
            )
    console.print(summary)
    console.print(
        f"{run.n_rows:,} rows read, {run.n_loaded:,} loaded, {run.n_errors:,} reported "
        f"(not loaded). {run.message}."
    )
    if run.errors:
        errors = Table("line", "column", "value", "reason", title="First problems")
        for error in run.errors[:SHOWN_ERRORS]:
            errors.add_row(
                str(error["line"]),
                error.get("column") or "",
                (error.get("value") or "")[:40],
                error["reason"],
            )
        console.print(errors)
    if errors_path is not None:
        errors_path.write_text(errors_csv(run), encoding="utf-8")
        console.print(f"Full report: {errors_path}")
    if dry_run:
        console.print("Dry run: nothing was loaded.")
