"""Dependencies of the API routes: the session, the settings, the caller and role checks.

Role matrix (checked on every route; see the module constants):

=====================  =====  =======  =====  =====
what                   admin  manager  agent  owner
=====================  =====  =======  =====  =====
read customers,        yes    yes      yes    yes
orders, interactions
edit customers, log    yes    yes      yes    yes
interactions
create orders          yes    yes      yes    no
batch upsert, merge,   yes    yes      no     no
undo, imports, audit
list departments       yes    yes      no     no
users, departments,    yes    no       no     no
other users' tokens
=====================  =====  =======  =====  =====

On top of these roles, record-level scoping (an owner sees only their customers, an agent their
department's tickets) is applied by :mod:`kehu.access` (docs/access.md).
"""

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import BackgroundTasks, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kehu.api.errors import SESSION_STATE_KEY
from kehu.core import Actor, PermissionDeniedError, Settings
from kehu.store import open_session, session_scope
from kehu.users import (
    Role,
    User,
    find_user_by_token,
    recall_user_by_token,
    record_token_uses,
)

logger = logging.getLogger("kehu.api")

ALL_ROLES: tuple[Role, ...] = tuple(Role)
READ_ROLES = ALL_ROLES
EDIT_ROLES = ALL_ROLES
ORDER_ROLES = (Role.ADMIN, Role.MANAGER, Role.AGENT)
BULK_ROLES = (Role.ADMIN, Role.MANAGER)
AUDIT_ROLES = (Role.ADMIN, Role.MANAGER)
ADMIN_ROLES = (Role.ADMIN,)
MANAGER_ROLES = (Role.ADMIN, Role.MANAGER)

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="An API token from POST /api/v1/auth/token: `Authorization: Bearer kehu_...`.",
)


#: Methods whose requests only read, unless the route says otherwise (:func:`writes_on_read`).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITES_ATTRIBUTE = "kehu_writes_on_read"
F = TypeVar("F", bound=Callable[..., Any])


def writes_on_read(endpoint: F) -> F:
    """Mark a GET route that also writes (say, it records what it served).

    Its transaction then begins ready to write on SQLite (:data:`kehu.store.WRITE_OPTIONS`).
    """
    setattr(endpoint, _WRITES_ATTRIBUTE, True)
    return endpoint


def _writes(request: Request) -> bool:
    if request.method not in READ_METHODS:
        return True
    route = request.scope.get("route")
    return bool(getattr(getattr(route, "endpoint", None), _WRITES_ATTRIBUTE, False))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Yield a session for this request.

    :class:`kehu.api.errors.ApiRoute` commits it when the route succeeds and rolls it back
    when it fails; here it is only opened and closed. Opening a session runs no SQL (it
    connects at its first statement) and closing one that was committed or rolled back
    returns nothing to the pool, so neither needs a worker thread; a session still in a
    transaction (a route outside :class:`~kehu.api.errors.ApiRoute`) is closed in one.
    Every hop to a thread costs a request time and, under load, a wait for a free thread.
    """
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = open_session(factory, writes=_writes(request))
    setattr(request.state, SESSION_STATE_KEY, session)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


async def get_app_settings(request: Request) -> Settings:
    """Return the settings the application was built with."""
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def _unauthenticated(message: str) -> HTTPException:
    return HTTPException(
        status_code=401, detail=message, headers={"WWW-Authenticate": 'Bearer realm="kehu"'}
    )


def _record_token_uses(factory: sessionmaker[Session]) -> None:
    """Write the noted token uses in a transaction of their own; never fail anything."""
    try:
        with session_scope(factory) as session:
            record_token_uses(session)
    except SQLAlchemyError as exc:  # best effort: a later request notes the use again
        logger.warning("token uses not recorded: %s", exc)


async def get_current_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    background: BackgroundTasks,
) -> User:
    """Return the user whose API token the request carries.

    A token checked a moment ago is recalled without SQL, in the event loop; otherwise it is
    looked up in a worker thread. When the token's last use is due to be recorded, that is
    written after the response, in a transaction of its own (best effort): a read request's
    transaction writes nothing.

    Raises
    ------
    HTTPException
        401 when the token is missing, malformed, unknown, revoked or expired, or its user
        was deactivated.
    """
    if credentials is None:
        raise _unauthenticated(
            "Authentication required: send `Authorization: Bearer <token>` with a token from "
            "POST /api/v1/auth/token."
        )
    secret = credentials.credentials.strip()
    user = None
    if 0 < len(secret) <= 200:
        user = recall_user_by_token(session, secret)
        if user is None:
            user = await run_in_threadpool(find_user_by_token, session, secret, defer_use=True)
            background.add_task(_record_token_uses, request.app.state.session_factory)
    if user is None:
        raise _unauthenticated(
            "The API token is invalid, revoked or expired, or its user is deactivated; "
            "create a new one with POST /api/v1/auth/token."
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    """Return a dependency that lets through only users with one of ``roles``.

    The returned function carries the roles in ``allowed_roles`` so a test can check that
    every route declares one.
    """
    allowed = frozenset(roles)

    async def check_role(user: CurrentUser) -> User:  # async: no thread for a comparison
        if user.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise PermissionDeniedError(
                f"Your role ({user.role}) may not do this; it needs one of: {names}.",
                code="auth.forbidden_role",
            )
        return user

    check_role.allowed_roles = allowed  # type: ignore[attr-defined]
    return check_role


Reader = Annotated[User, Depends(require_roles(*READ_ROLES))]
Editor = Annotated[User, Depends(require_roles(*EDIT_ROLES))]
OrderTaker = Annotated[User, Depends(require_roles(*ORDER_ROLES))]
Bulk = Annotated[User, Depends(require_roles(*BULK_ROLES))]
Auditor = Annotated[User, Depends(require_roles(*AUDIT_ROLES))]
Admin = Annotated[User, Depends(require_roles(*ADMIN_ROLES))]
Manager = Annotated[User, Depends(require_roles(*MANAGER_ROLES))]


def api_actor(user: User) -> Actor:
    """Return the audit actor for something ``user`` does through the API."""
    return Actor(kind="api_token", label=user.email, user_id=user.id)


__all__ = [
    "ADMIN_ROLES",
    "ALL_ROLES",
    "AUDIT_ROLES",
    "BULK_ROLES",
    "EDIT_ROLES",
    "MANAGER_ROLES",
    "ORDER_ROLES",
    "READ_ROLES",
    "Admin",
    "Auditor",
    "Bulk",
    "CurrentUser",
    "Editor",
    "Manager",
    "OrderTaker",
    "Reader",
    "SessionDep",
    "SettingsDep",
    "api_actor",
    "get_current_user",
    "get_session",
    "require_roles",
    "writes_on_read",
]
