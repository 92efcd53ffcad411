"""Settings → Webhooks (administrators): subscriptions, their state, the delivery log."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from starlette.responses import RedirectResponse, Response

from kehu import webhooks
from kehu.core import PermissionDeniedError
from kehu.users import Role, User, user_actor
from kehu.web.csrf import verify_csrf
from kehu.web.deps import CurrentUser, DbSession
from kehu.web.rendering import attempt, flash, render

router = APIRouter()

PAGE = "/settings/webhooks"
MAX_ID = 2**63 - 1
SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ID)]


def admin(user: CurrentUser) -> User:
    """Return the signed-in user when an administrator, else raise a 403."""
    if Role(user.role) != Role.ADMIN:
        raise PermissionDeniedError(
            "Only administrators may manage webhooks.", code="web.forbidden"
        )
    return user


Admin = Annotated[User, Depends(admin)]


def _page(request: Request, db: DbSession, **extra: object) -> Response:
    deliveries, total = webhooks.list_deliveries(db, limit=50)
    return render(
        request,
        "webhooks/settings.html",
        {
            "subscriptions": webhooks.list_subscriptions(db),
            "deliveries": deliveries,
            "n_deliveries": total,
            "event_types": webhooks.EVENT_TYPES,
            "nav": "webhooks",
            **extra,
        },
    )


@router.get(PAGE)
def webhooks_page(request: Request, db: DbSession, user: Admin) -> Response:
    """List the subscriptions and the latest deliveries."""
    del user
    return _page(request, db)


@router.post(PAGE, dependencies=[Depends(verify_csrf)])
def create_subscription(
    request: Request,
    db: DbSession,
    user: Admin,
    name: Annotated[str, Form(max_length=100)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    event_types: Annotated[list[str] | None, Form(max_length=50)] = None,
) -> Response:
    """Subscribe a URL; the page then shows its signing secret, once."""
    created = attempt(
        request,
        db,
        PAGE,
        lambda: webhooks.create_subscription(
            db,
            name=name,
            url=url,
            event_types=event_types or [],
            actor=user_actor(user),
            allow_private=request.app.state.settings.webhooks_allow_private,
        ),
    )
    if isinstance(created, Response):
        return created
    db.commit()
    return _page(request, db, new_secret=created.secret, new_name=created.name)


@router.post(PAGE + "/{subscription_id}/state", dependencies=[Depends(verify_csrf)])
def set_state(
    request: Request,
    db: DbSession,
    user: Admin,
    subscription_id: SubscriptionId,
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Enable (resetting the failure count) or disable a subscription."""
    done = attempt(
        request,
        db,
        PAGE,
        lambda: webhooks.update_subscription(
            db, subscription_id, is_active=active == "1", actor=user_actor(user)
        ),
    )
    if isinstance(done, Response):
        return done
    db.commit()
    flash(request, "success", "Saved.")
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE + "/{subscription_id}/delete", dependencies=[Depends(verify_csrf)])
def delete_subscription(
    request: Request, db: DbSession, user: Admin, subscription_id: SubscriptionId
) -> Response:
    """Delete a subscription and its log."""
    done = attempt(
        request,
        db,
        PAGE,
        lambda: webhooks.delete_subscription(db, subscription_id, actor=user_actor(user)),
    )
    if isinstance(done, Response):
        return done
    db.commit()
    flash(request, "success", "Deleted.")
    return RedirectResponse(PAGE, status_code=303)
