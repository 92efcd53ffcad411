"""``kehu users ...``: manage staff accounts and API tokens."""

import getpass
from typing import Annotated

import typer
from rich.table import Table

from kehu.cli._context import console, err_console, open_session
from kehu.core import Actor, KehuError
from kehu.users import (
    create_api_token,
    create_department,
    create_user,
    find_user_by_email,
    list_users,
    set_password,
    set_user_active,
)

app = typer.Typer(help="Manage users (staff), their roles and API tokens.", no_args_is_help=True)


def _actor() -> Actor:
    return Actor(kind="system", label=f"cli:{getpass.getuser()}")


def _fail(exc: KehuError) -> None:
    err_console.print(f"[red]Error:[/red] {exc.message}")
    raise typer.Exit(1)


@app.command("create")
def create(
    email: str,
    role: Annotated[str, typer.Option(help="admin, manager, agent or owner")] = "agent",
    name: Annotated[str, typer.Option(help="Display name")] = "",
    department: Annotated[str | None, typer.Option(help="Department code")] = None,
    password: Annotated[str | None, typer.Option(help="Omit to be prompted")] = None,
) -> None:
    """Create a user; the password is asked for unless given."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with open_session() as session:
            if department:
                create_department(session, code=department, name=department, actor=_actor())
            user = create_user(
                session,
                email=email,
                name=name or email.split("@")[0],
                password=password,
                role=role,
                department_code=department,
                actor=_actor(),
            )
            console.print(f"Created {user.role} [bold]{user.email}[/bold] (id {user.id}).")
    except KehuError as exc:
        _fail(exc)


@app.command("list")
def list_() -> None:
    """List users with their roles."""
    with open_session() as session:
        table = Table("id", "e-mail", "name", "role", "department", "active", "last login")
        for user in list_users(session):
            table.add_row(
                str(user.id),
                user.email,
                user.name,
                user.role,
                user.department.code if user.department else "",
                "yes" if user.is_active else "no",
                f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "",
            )
        console.print(table)


@app.command("set-password")
def set_password_(
    email: str,
    password: Annotated[str | None, typer.Option(help="Omit to be prompted")] = None,
) -> None:
    """Change a user's password."""
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        with open_session() as session:
            user = find_user_by_email(session, email)
            if user is None:
                err_console.print(f"[red]Error:[/red] there is no user {email}.")
                raise typer.Exit(1)
            set_password(session, user, password, actor=_actor())
            console.print(f"Password of {user.email} changed.")
    except KehuError as exc:
        _fail(exc)


@app.command("deactivate")
def deactivate(email: str) -> None:
    """Deactivate a user: they can no longer sign in and their tokens stop working."""
    with open_session() as session:
        user = find_user_by_email(session, email)
        if user is None:
            err_console.print(f"[red]Error:[/red] there is no user {email}.")
            raise typer.Exit(1)
        set_user_active(session, user, False, actor=_actor())
        console.print(f"{user.email} deactivated.")


@app.command("token")
def token(
    email: str,
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
) -> None:
    """Create an API bearer token for a user and print it (it is shown only once)."""
    with open_session() as session:
        user = find_user_by_email(session, email)
        if user is None:
            err_console.print(f"[red]Error:[/red] there is no user {email}.")
            raise typer.Exit(1)
        _, secret = create_api_token(session, user, name=name, actor=_actor())
        console.print(secret, soft_wrap=True)
