"""Users, their tokens and departments (administrators)."""

from datetime import timedelta

from fastapi import APIRouter

from kehu import users
from kehu.api.deps import Admin, Manager, SessionDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import (
    DbId,
    DepartmentCreate,
    DepartmentPublic,
    DepartmentsPublic,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
    UsersPublic,
    UserTokenCreate,
)
from kehu.core import utcnow

router = APIRouter(tags=["users"], route_class=ApiRoute)


@router.get("/users", response_model=UsersPublic)
def read_users(session: SessionDep, user: Admin) -> UsersPublic:
    """List every user, by e-mail."""
    del user
    rows = users.list_users(session)
    return UsersPublic(data=[UserPublic.of(u) for u in rows], count=len(rows))


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, session: SessionDep, user: Admin) -> UserPublic:
    """Create a user; 409 when the e-mail is taken, 422 for a short password."""
    created = users.create_user(
        session,
        email=body.email,
        name=body.name,
        password=body.password,
        role=body.role,
        actor=api_actor(user),
        department_code=body.department_code,
        locale=body.locale,
    )
    return UserPublic.of(created)


@router.post("/users/{user_id}/deactivate", response_model=UserPublic)
def deactivate_user(user_id: DbId, session: SessionDep, user: Admin) -> UserPublic:
    """Deactivate a user: they cannot sign in and their tokens stop working."""
    target = users.get_user_by_id(session, user_id)
    users.set_user_active(session, target, False, actor=api_actor(user))
    return UserPublic.of(target)


@router.post("/users/{user_id}/activate", response_model=UserPublic)
def activate_user(user_id: DbId, session: SessionDep, user: Admin) -> UserPublic:
    """Activate a user again."""
    target = users.get_user_by_id(session, user_id)
    users.set_user_active(session, target, True, actor=api_actor(user))
    return UserPublic.of(target)


@router.post("/users/{user_id}/tokens", response_model=TokenCreated, status_code=201)
def create_user_token(
    user_id: DbId, body: UserTokenCreate, session: SessionDep, user: Admin
) -> TokenCreated:
    """Create an API token for a user (a service account, say); its secret is shown once."""
    target = users.get_user_by_id(session, user_id)
    expires_at = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    token, secret = users.create_api_token(
        session, target, name=body.name, actor=api_actor(user), expires_at=expires_at
    )
    return TokenCreated(**TokenPublic.model_validate(token).model_dump(), token=secret)


@router.get("/departments", response_model=DepartmentsPublic)
def read_departments(session: SessionDep, user: Manager) -> DepartmentsPublic:
    """List departments, by code."""
    del user
    rows = users.list_departments(session)
    return DepartmentsPublic(
        data=[DepartmentPublic.model_validate(d) for d in rows], count=len(rows)
    )


@router.post("/departments", response_model=DepartmentPublic, status_code=201)
def create_department(body: DepartmentCreate, session: SessionDep, user: Admin) -> DepartmentPublic:
    """Create a department (or return the one with this code)."""
    department = users.create_department(
        session, code=body.code, name=body.name, actor=api_actor(user)
    )
    return DepartmentPublic.model_validate(department)
