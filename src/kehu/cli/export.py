"""``kehu export parquet``: the store's tables as Parquet for DuckDB, Spark or anyone else."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kehu.cli._context import console, err_console
from kehu.core import KehuError, get_settings

app = typer.Typer(help="Export the store's tables.", no_args_is_help=True)


@app.command("parquet")
def export_parquet_command(
    out: Annotated[Path, typer.Option("--out", help="Directory to write (one folder per table)")],
    tables: Annotated[
        list[str] | None,
        typer.Option("--table", help="Export only this table (repeatable); default: all"),
    ] = None,
    rows_per_file: Annotated[
        int, typer.Option("--rows-per-file", help="Rows per Parquet file", min=1)
    ] = 2_000_000,
) -> None:
    """Write customers, orders, order lines, products and tickets to Parquet through Arrow."""
    from kehu.batch import EXPORT_QUERIES, export_parquet

    try:
        with console.status("Exporting..."):
            report = export_parquet(
                get_settings().database_url,
                out,
                tables=tables or tuple(EXPORT_QUERIES),
                rows_per_file=rows_per_file,
            )
    except KehuError as exc:
        err_console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    table = Table("table", "rows", "files", "seconds", title=f"Exported to {report.out_dir}")
    for part in report.tables:
        table.add_row(part.name, f"{part.n_rows:,}", str(part.n_files), f"{part.seconds:.2f}")
    console.print(table)
