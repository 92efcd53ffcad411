"""Staff users, roles, departments and API tokens."""

from kehu.users._token_cache import record_token_uses
from kehu.users.errors import UserErrorCode
from kehu.users.models import ApiToken, Department, Role, User
from kehu.users.operations import (
    authenticate,
    create_api_token,
    create_department,
    create_user,
    revoke_api_token,
    set_password,
    set_user_active,
    user_actor,
)
from kehu.users.queries import (
    find_user_by_email,
    find_user_by_token,
    get_user_by_id,
    list_departments,
    list_users,
    recall_user_by_token,
)

__all__ = [
    "ApiToken",
    "Department",
    "Role",
    "User",
    "UserErrorCode",
    "authenticate",
    "create_api_token",
    "create_department",
    "create_user",
    "find_user_by_email",
    "find_user_by_token",
    "get_user_by_id",
    "list_departments",
    "list_users",
    "recall_user_by_token",
    "record_token_uses",
    "revoke_api_token",
    "set_password",
    "set_user_active",
    "user_actor",
]
