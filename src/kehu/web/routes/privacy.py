"""A person's rights from the customer 360: export, erasure, automated-decision opt-out.

The same operations as ``/api/v1/customers/{id}/export|erase|automated-decisions`` and
``kehu privacy ...``: exporting and opting out are for managers and administrators, erasing
for administrators only (it cannot be undone); a customer outside the user's records
(docs/access.md) is a 404, as on the 360.
"""

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from kehu import privacy
from kehu.access import access_customer_by_id
from kehu.core import PermissionDeniedError
from kehu.users import Role, User, user_actor
from kehu.web.csrf import verify_csrf
from kehu.web.deps import CurrentUser, DbSession, Manager
from kehu.web.rendering import attempt, flash, render
from kehu.web.routes.customers import parse_id

router = APIRouter()


def _require_admin(user: User) -> None:
    if Role(user.role) != Role.ADMIN:
        raise PermissionDeniedError(
            "Only administrators may erase a customer's personal data.", code="web.forbidden"
        )


@router.get("/customers/{customer_id}/privacy/export")
def export_data(db: DbSession, user: Manager, customer_id: str) -> Response:
    """Download everything stored about the customer as one JSON file (audited)."""
    customer = access_customer_by_id(db, user, parse_id(customer_id))
    document = privacy.export_customer(db, customer.id, actor=user_actor(user))
    db.commit()
    body = json.dumps(document.model_dump(mode="json"), ensure_ascii=False, indent=1)
    disposition = f'attachment; filename="customer-{customer.id}-data.json"'
    return Response(
        body, media_type="application/json", headers={"Content-Disposition": disposition}
    )


@router.get("/customers/{customer_id}/privacy/erase")
def erase_confirmation(
    request: Request, db: DbSession, user: CurrentUser, customer_id: str
) -> Response:
    """Say what erasing removes and what it keeps, and ask to confirm."""
    _require_admin(user)
    customer = access_customer_by_id(db, user, parse_id(customer_id))
    return render(request, "customers/privacy_erase.html", {"customer": customer})


@router.post("/customers/{customer_id}/privacy/erase", dependencies=[Depends(verify_csrf)])
def erase_data(request: Request, db: DbSession, user: CurrentUser, customer_id: str) -> Response:
    """Erase the customer's personal data (administrators; audited; cannot be undone)."""
    _require_admin(user)
    customer = access_customer_by_id(db, user, parse_id(customer_id))
    back = f"/customers/{customer.id}"
    outcome = attempt(
        request,
        db,
        back,
        lambda: privacy.erase_customer(db, customer.id, actor=user_actor(user)),
    )
    if isinstance(outcome, Response):
        return outcome
    db.commit()
    flash(request, "success", "The personal data of customer {id} were erased.", id=customer.id)
    return RedirectResponse(back, status_code=303)


@router.post(
    "/customers/{customer_id}/privacy/automated-decisions", dependencies=[Depends(verify_csrf)]
)
def set_automated_decisions(
    request: Request,
    db: DbSession,
    user: Manager,
    customer_id: str,
    opted_out: Annotated[str, Form(max_length=5)],
) -> Response:
    """Opt the customer out of (``opted_out=true``) or back into automated decisions."""
    customer = access_customer_by_id(db, user, parse_id(customer_id))
    choice = opted_out.strip().lower() in {"true", "1", "yes", "on"}
    privacy.set_automated_decisions_opt_out(
        db, customer.id, opted_out=choice, actor=user_actor(user), source="console"
    )
    db.commit()
    flash(
        request,
        "success",
        "Customer {id} opted out of automated decisions."
        if choice
        else "Customer {id} opted back into automated decisions.",
        id=customer.id,
    )
    return RedirectResponse(f"/customers/{customer.id}#privacy", status_code=303)
