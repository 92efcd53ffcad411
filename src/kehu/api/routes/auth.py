"""Authentication: exchanging a password for an API token, the caller, revoking tokens."""

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from kehu.api.deps import Reader, SessionDep, SettingsDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import DbId, TokenCreated, TokenPublic, TokenRequest, UserPublic
from kehu.core import KehuError, NotFoundError, Settings, utcnow
from kehu.throttle import (
    LoginLimits,
    LoginThrottledError,
    check_login_allowed,
    clear_login_failures,
    record_login_failure,
)
from kehu.users import (
    ApiToken,
    Role,
    UserErrorCode,
    authenticate,
    create_api_token,
    revoke_api_token,
    user_actor,
)

router = APIRouter(prefix="/auth", tags=["auth"], route_class=ApiRoute)


def login_limits(settings: Settings) -> LoginLimits:
    """Return the login throttling limits of ``settings``."""
    return LoginLimits(
        window_s=settings.login_window_s,
        max_per_account=settings.login_max_failures_per_account,
        max_per_address=settings.login_max_failures_per_ip,
    )


_THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many failed logins; retry after `Retry-After` seconds."}
}


@router.post("/token", response_model=TokenCreated, status_code=201, responses=_THROTTLED)
def create_token(
    body: TokenRequest, session: SessionDep, settings: SettingsDep, request: Request
) -> TokenCreated:
    """Create an API token for the user with these credentials; its secret is shown only once.

    Open to anyone: the e-mail and password are the credentials. Failed logins are throttled
    per account and per client address (429 with ``Retry-After``).
    """
    address = request.client.host if request.client else None
    limits = login_limits(settings)
    try:
        check_login_allowed(session, body.email, address, limits)
    except LoginThrottledError as exc:
        raise HTTPException(
            status_code=429,
            detail=exc.message,
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from exc
    try:
        user = authenticate(session, body.email, body.password)
    except KehuError as exc:
        if exc.code == UserErrorCode.BAD_CREDENTIALS:
            # Kept although the request fails: commit the count before answering 401.
            record_login_failure(session, body.email, address, limits)
            session.commit()
            raise HTTPException(
                status_code=401,
                detail="Wrong e-mail or password.",
                headers={"WWW-Authenticate": 'Bearer realm="kehu"'},
            ) from exc
        raise
    clear_login_failures(session, body.email)
    expires_at = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    token, secret = create_api_token(
        session, user, name=body.name, actor=user_actor(user), expires_at=expires_at
    )
    return TokenCreated(**TokenPublic.model_validate(token).model_dump(), token=secret)


@router.get("/me", response_model=UserPublic)
def read_me(user: Reader) -> UserPublic:
    """Return the user the token belongs to."""
    return UserPublic.of(user)


@router.delete("/tokens/{token_id}", response_model=TokenPublic)
def revoke_token(token_id: DbId, session: SessionDep, user: Reader) -> TokenPublic:
    """Revoke one of your tokens (an admin may revoke anyone's); it stops working at once."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and user.role != Role.ADMIN):
        raise NotFoundError(f"You have no API token {token_id}.", code=UserErrorCode.BAD_TOKEN)
    token = revoke_api_token(session, token_id, actor=api_actor(user))
    return TokenPublic.model_validate(token)
