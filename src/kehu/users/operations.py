"""Writes for users, departments and API tokens; each is audited."""

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError, utcnow
from kehu.users import _token_cache
from kehu.users.errors import UserErrorCode
from kehu.users.models import ApiToken, Department, Role, User
from kehu.users.passwords import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password

TOKEN_PREFIX = "kehu_"  # noqa: S105 - a public prefix that makes leaked tokens greppable


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
            code=UserErrorCode.WEAK_PASSWORD,
        )


def normalise_email(email: str) -> str:
    """Return the e-mail address trimmed and lower-cased (how users are looked up)."""
    return email.strip().lower()


def create_department(session: Session, *, code: str, name: str, actor: Actor) -> Department:
    """Create a department, or return the existing one with the same code."""
    existing = session.scalar(select(Department).where(Department.code == code))
    if existing is not None:
        return existing
    department = Department(code=code, name=name)
    session.add(department)
    session.flush()
    record(
        session,
        actor=actor,
        action="department.create",
        object_type="department",
        object_id=department.id,
        summary=f"created department {code}",
    )
    return department


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    role: Role | str,
    actor: Actor,
    department_code: str | None = None,
    locale: str = "en",
) -> User:
    """Create a user with a hashed password.

    Raises
    ------
    ConflictError
        When a user with that e-mail exists.
    InvalidInputError
        When the password is too short, the role or the department is unknown.
    """
    email = normalise_email(email)
    if "@" not in email:
        raise InvalidInputError(f"{email!r} is not an e-mail address.", code="users.bad_email")
    try:
        role = Role(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInputError(
            f"Unknown role {role!r}; use one of {roles}.", code="users.bad_role"
        ) from exc
    _check_password(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError(
            f"A user with e-mail {email} already exists.", code=UserErrorCode.DUPLICATE_EMAIL
        )
    department_id = None
    if department_code:
        department_id = session.scalar(
            select(Department.id).where(Department.code == department_code)
        )
        if department_id is None:
            raise InvalidInputError(
                f"There is no department with code {department_code!r}.",
                code=UserErrorCode.UNKNOWN_DEPARTMENT,
            )
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password),
        role=role,
        department_id=department_id,
        locale=locale,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        summary=f"created {role.value} {email}",
    )
    return user


def set_password(session: Session, user: User, password: str, *, actor: Actor) -> None:
    """Replace a user's password."""
    _check_password(password)
    user.password_hash = hash_password(password)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.set_password",
        object_type="user",
        object_id=user.id,
        summary=f"changed the password of {user.email}",
    )


def set_user_active(session: Session, user: User, is_active: bool, *, actor: Actor) -> None:
    """Activate or deactivate a user (a deactivated user cannot sign in; tokens stop working)."""
    user.is_active = is_active
    session.flush()
    _token_cache.forget_user(user.id)
    record(
        session,
        actor=actor,
        action="user.activate" if is_active else "user.deactivate",
        object_type="user",
        object_id=user.id,
        summary=user.email,
    )


def authenticate(session: Session, email: str, password: str) -> User:
    """Return the active user with these credentials.

    Raises
    ------
    PermissionDeniedError-like InvalidInputError
        With the same message for an unknown e-mail and a wrong password.
    """
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise InvalidInputError("Wrong e-mail or password.", code=UserErrorCode.BAD_CREDENTIALS)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def hash_token(secret: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(
    session: Session, user: User, *, name: str, actor: Actor, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a bearer token for ``user``; return it with its secret (shown only this once)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:12],
        token_hash=hash_token(secret),
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor=actor,
        action="token.create",
        object_type="api_token",
        object_id=token.id,
        summary=f"token {name!r} for {user.email}",
    )
    return token, secret


def revoke_api_token(session: Session, token_id: int, *, actor: Actor) -> ApiToken:
    """Revoke a token; it stops working at once."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"There is no API token {token_id}.", code=UserErrorCode.BAD_TOKEN)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        _token_cache.forget_token(token.token_hash)
        record(
            session,
            actor=actor,
            action="token.revoke",
            object_type="api_token",
            object_id=token.id,
            summary=token.name,
        )
    return token


def user_actor(user: User) -> Actor:
    """Return the audit actor for something ``user`` does."""
    return Actor(kind="user", label=user.email, user_id=user.id)
