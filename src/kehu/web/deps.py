"""Request-scoped dependencies: the database session (the transaction boundary) and the user."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from kehu.core import NotFoundError, PermissionDeniedError
from kehu.store import session_scope
from kehu.users import Role, User, get_user_by_id


@dataclass(frozen=True)
class Viewer:
    """What pages need to know about the signed-in user, detached from the database session.

    Error pages are rendered after the request's session has closed, so templates get this
    snapshot rather than the ORM row.
    """

    id: int
    email: str
    name: str
    role: str
    locale: str


#: Methods whose requests only read (their SQLite transaction begins DEFERRED, see
#: :data:`kehu.store.WRITE_OPTIONS`).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequiredError(Exception):
    """Nobody (or a deactivated user) is signed in; the handler sends them to the login page."""


def get_db(request: Request) -> Iterator[Session]:
    """Yield a session; commit when the request succeeds, roll back when it fails.

    The console owns the transaction: operations only flush.
    """
    factory: sessionmaker[Session] = request.app.state.session_factory
    with session_scope(factory, writes=request.method not in READ_METHODS) as session:
        yield session


DbSession = Annotated[Session, Depends(get_db)]


def find_signed_in_user(request: Request, db: Session) -> User | None:
    """Return the active user of the session cookie, or ``None`` (clearing a stale cookie)."""
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        return None
    try:
        user = get_user_by_id(db, user_id)
    except NotFoundError:
        user = None
    if user is None or not user.is_active:
        request.session.pop("user_id", None)
        return None
    request.state.user = Viewer(
        id=user.id, email=user.email, name=user.name, role=str(user.role), locale=user.locale
    )
    return user


def current_user(request: Request, db: DbSession) -> User:
    """Return the signed-in user or raise :class:`LoginRequiredError`."""
    user = find_signed_in_user(request, db)
    if user is None:
        raise LoginRequiredError
    return user


CurrentUser = Annotated[User, Depends(current_user)]

#: Who may import data and read the audit log, and merge or unmerge customers.
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})


def can_manage(user: User | Viewer) -> bool:
    """Tell whether ``user`` may import, read the audit log and merge customers."""
    return Role(user.role) in MANAGERS


def manager(user: CurrentUser) -> User:
    """Return the signed-in user when an admin or a manager, else raise a 403."""
    if not can_manage(user):
        raise PermissionDeniedError(
            "Only administrators and managers may open this page.", code="web.forbidden"
        )
    return user


Manager = Annotated[User, Depends(manager)]
