"""Signing in and out, and the language switch."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from kehu.core import InvalidInputError
from kehu.throttle import (
    LoginLimits,
    LoginThrottledError,
    check_login_allowed,
    clear_login_failures,
    record_login_failure,
)
from kehu.users import authenticate, user_actor
from kehu.users.preferences import set_user_locale
from kehu.web.csrf import csrf_token, verify_csrf
from kehu.web.deps import DbSession, find_signed_in_user
from kehu.web.errors import safe_next
from kehu.web.i18n import LOCALES
from kehu.web.rendering import render

router = APIRouter()
THROTTLED_MESSAGE = "Too many failed logins. Wait a few minutes, then try again."


@router.get("/login")
def login_page(request: Request, db: DbSession, next: str = "/") -> Response:
    """Show the login form (or go straight on when already signed in)."""
    if find_signed_in_user(request, db) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": safe_next(next), "email": ""})


@router.post("/login", dependencies=[Depends(verify_csrf)])
def login(
    request: Request,
    db: DbSession,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials; on success start a fresh session and go where the user was going.

    Failed logins are throttled per account and per client address (429, ``Retry-After``).
    """
    settings = request.app.state.settings
    limits = LoginLimits(
        window_s=settings.login_window_s,
        max_per_account=settings.login_max_failures_per_account,
        max_per_address=settings.login_max_failures_per_ip,
    )
    address = request.client.host if request.client else None
    try:
        check_login_allowed(db, email, address, limits)
    except LoginThrottledError as exc:
        page = render(
            request,
            "auth/login.html",
            {"next": safe_next(next), "email": email, "error": THROTTLED_MESSAGE},
            status_code=429,
        )
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    try:
        user = authenticate(db, email, password)
    except InvalidInputError:
        record_login_failure(db, email, address, limits)
        db.commit()
        return render(
            request,
            "auth/login.html",
            {"next": safe_next(next), "email": email, "error": "Wrong e-mail or password."},
            status_code=401,
        )
    clear_login_failures(db, email)
    db.commit()
    locale = request.session.get("locale")
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["user_id"] = user.id
    request.session["locale"] = locale if locale in LOCALES else user.locale
    csrf_token(request)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> Response:
    """End the session."""
    locale = request.session.get("locale")
    request.session.clear()
    if locale in LOCALES:
        request.session["locale"] = locale
    return RedirectResponse("/login", status_code=303)


@router.post("/lang", dependencies=[Depends(verify_csrf)])
def switch_language(
    request: Request,
    db: DbSession,
    locale: Annotated[str, Form(max_length=16)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Remember the chosen language in the session and, when signed in, on the user."""
    if locale not in LOCALES:
        raise InvalidInputError(
            f"Unknown language {locale!r}; choose one of {', '.join(LOCALES)}.",
            code="web.bad_locale",
        )
    request.session["locale"] = locale
    user = find_signed_in_user(request, db)
    if user is not None:
        set_user_locale(db, user, locale, actor=user_actor(user))
        db.commit()
    return RedirectResponse(safe_next(next), status_code=303)
