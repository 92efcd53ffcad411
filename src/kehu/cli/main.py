"""The ``kehu`` command: ``init``, ``import``, ``serve``, ``demo``, ``users``, ``version``."""

from typing import Annotated

import typer
from rich.table import Table

from kehu import __version__
from kehu.cli import (
    clv,
    export,
    health,
    privacy,
    recommend,
    relations,
    service,
    text,
    users,
    voice,
    webhooks,
)
from kehu.cli._context import console, err_console, open_session
from kehu.cli.analyze import analyze_command
from kehu.cli.imports import import_command
from kehu.core import get_settings

app = typer.Typer(
    name="kehu",
    help="kehu (客户): customer-relationship system. Data in, actions out.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(users.app, name="users")
app.add_typer(clv.app, name="clv")
app.add_typer(recommend.app, name="recommend")
app.add_typer(service.train_app, name="train")
app.add_typer(service.service_app, name="service")
app.add_typer(text.app, name="text")
app.add_typer(voice.app, name="voice")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(health.app, name="health")
app.add_typer(relations.rules_app, name="rules")
app.add_typer(relations.relations_app, name="relations")
app.add_typer(export.app, name="export")
app.add_typer(privacy.app, name="privacy")
app.command("import")(import_command)
app.command("analyze")(analyze_command)

settings_app = typer.Typer(help="Show the configuration.", no_args_is_help=True)
app.add_typer(settings_app, name="settings")


@app.command()
def version() -> None:
    """Print kehu's version (needs no database)."""
    console.print(f"kehu {__version__}")


@settings_app.command("show")
def settings_show() -> None:
    """Print the settings in force (secrets masked; needs no database)."""
    table = Table("setting", "value")
    for name, value in get_settings().model_dump().items():
        shown = "********" if "secret" in name else str(value)
        table.add_row(name, shown)
    console.print(table)


def _migrate() -> str:
    from kehu.store import upgrade_to_head

    url = get_settings().database_url
    with console.status("Bringing the database schema up to date..."):
        upgrade_to_head(url)
    return url


@app.command()
def init(
    admin_email: Annotated[str | None, typer.Option(help="Create this admin user")] = None,
    admin_password: Annotated[str | None, typer.Option(help="Omit to be prompted")] = None,
) -> None:
    """Create (or upgrade) the database at KEHU_DATABASE_URL; optionally create an admin."""
    from kehu.core import Actor, KehuError
    from kehu.users import create_user, find_user_by_email

    url = _migrate()
    console.print(f"Database ready: [bold]{_safe_url(url)}[/bold]")
    if admin_email:
        with open_session() as session:
            if find_user_by_email(session, admin_email) is not None:
                console.print(f"Admin {admin_email} already exists.")
                return
            password = admin_password or typer.prompt(
                "Admin password", hide_input=True, confirmation_prompt=True
            )
            try:
                create_user(
                    session,
                    email=admin_email,
                    name="Administrator",
                    password=password,
                    role="admin",
                    actor=Actor.system("kehu init"),
                )
            except KehuError as exc:
                err_console.print(f"[red]Error:[/red] {exc.message}")
                raise typer.Exit(1) from exc
            console.print(f"Admin [bold]{admin_email}[/bold] created.")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _refuse_bad_settings() -> None:
    """Stop with the settings' own message (e.g. a placeholder secret in production)."""
    from pydantic import ValidationError

    try:
        get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            err_console.print(
                f"[red]Refusing to start:[/red] {error['msg'].removeprefix('Value error, ')}"
            )
        raise typer.Exit(2) from None


def _start_webhook_worker() -> None:
    """Deliver webhooks from a thread of this process (one however many workers serve)."""
    from kehu.jobs.webhooks import start_webhook_worker
    from kehu.store import make_engine, make_session_factory

    settings = get_settings()
    start_webhook_worker(settings, make_session_factory(make_engine(settings.database_url)))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request")
    ] = True,
) -> None:
    """Serve the console and the API (http://HOST:PORT/, API docs at /docs)."""
    import uvicorn

    _refuse_bad_settings()
    _migrate()
    _start_webhook_worker()
    console.print(
        f"Serving kehu on [bold]http://{host}:{port}/[/bold] (API docs: /docs). Ctrl+C stops."
    )
    uvicorn.run(
        "kehu.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # A worker process is spawned: it imports this module (the `kehu` script's) before it
        # answers the supervisor's pings, which took 11 s on a loaded 2-core machine; past
        # uvicorn's 5 s default every worker was killed and respawned, none ever served.
        timeout_worker_healthcheck=60,
        proxy_headers=True,
        log_level="info",
        access_log=access_log,
    )


@app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the console when the data is in")
    ] = True,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """Create the database, load the bundled demo data (once), and serve the console."""
    from kehu.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo

    settings = get_settings()
    if settings.environment == "production":
        err_console.print(
            "[red]Error:[/red] the demo data and its known passwords are refused "
            "when KEHU_ENVIRONMENT=production."
        )
        raise typer.Exit(1)
    url = _migrate()
    with (
        console.status("Loading the demo data (a real slice of Online Retail II)..."),
        open_session() as session,
    ):
        summary = seed_demo(session)
    if summary.already_seeded:
        console.print("The demo data was already loaded; nothing changed.")
    else:
        console.print(
            f"Imported {summary.n_rows_imported:,} rows "
            f"({summary.n_row_errors:,} reported, not loaded: see the import page)."
        )
    console.print(
        f"{summary.n_customers:,} customers, {summary.n_orders:,} orders in {_safe_url(url)}."
    )
    stages = ", ".join(f"{k.replace('_', ' ')} {n:,}" for k, n in summary.stages.items())
    console.print(
        f"{summary.n_tickets:,} tickets, {summary.n_posts:,} posts, "
        f"{summary.n_open_tasks:,} open tasks; health stages: {stages or 'none yet'}."
    )
    table = Table("sign in as", "role", "password", title="Demo logins")
    for email, _name, role, _dept in DEMO_USERS:
        table.add_row(email, role.value, DEMO_PASSWORD)
    console.print(table)
    if serve_after:
        serve(host=host, port=port, workers=1)
