"""Privacy: export (PIPL 45, GDPR 15/20), erasure (PIPL 47), automated-decision opt-out (24)."""

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from kehu import privacy
from kehu.access import access_customer_by_id
from kehu.api.deps import Admin, Editor, Manager, Reader, SessionDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import DbId

router = APIRouter(tags=["privacy"], route_class=ApiRoute)


@router.get("/customers/{customer_id}/export", response_model=privacy.PersonalDataExport)
def export_customer_data(
    customer_id: DbId, session: SessionDep, user: Manager
) -> privacy.PersonalDataExport:
    """Return everything stored about one customer as one JSON document (audited).

    Managers and administrators only; 404 for an unknown customer.
    """
    customer = access_customer_by_id(session, user, customer_id)
    return privacy.export_customer(session, customer.id, actor=api_actor(user))


@router.post("/customers/{customer_id}/erase", response_model=privacy.ErasureResult)
def erase_customer_data(
    customer_id: DbId, session: SessionDep, user: Admin
) -> privacy.ErasureResult:
    """Erase a customer's personal data on their request (administrators only; audited).

    Personal fields, identities, contact roles, texts they wrote and scores go; orders and
    tickets stay, on the anonymous record, for the business's accounts. Their identities are
    remembered as salted hashes so that a later import of them is refused. 404 for an
    unknown customer, 409 for one merged into another (erase the survivor).
    """
    customer = access_customer_by_id(session, user, customer_id)
    return privacy.erase_customer(session, customer.id, actor=api_actor(user))


class AutomatedDecisionsIn(BaseModel):
    """A customer's choice about automated decisions."""

    model_config = ConfigDict(extra="forbid")

    opted_out: bool = Field(description="true: no automated scores are used or shown for them.")
    source: str = Field(default="", max_length=200, examples=["phone call 2026-11-25"])


@router.get(
    "/customers/{customer_id}/automated-decisions",
    response_model=privacy.AutomatedDecisionsPublic,
)
def read_automated_decisions(
    customer_id: DbId, session: SessionDep, user: Reader
) -> privacy.AutomatedDecisionsPublic:
    """Return whether the customer opted out of automated decisions."""
    customer = access_customer_by_id(session, user, customer_id)
    return privacy.automated_decisions(session, customer.id)


@router.put(
    "/customers/{customer_id}/automated-decisions",
    response_model=privacy.AutomatedDecisionsPublic,
)
def update_automated_decisions(
    customer_id: DbId, body: AutomatedDecisionsIn, session: SessionDep, user: Editor
) -> privacy.AutomatedDecisionsPublic:
    """Record the customer's opt-out of (or back into) automated decisions; audited.

    While opted out, recommendations are not served to them (the answer says
    ``automated_decisions_opt_out``).
    """
    customer = access_customer_by_id(session, user, customer_id)
    return privacy.set_automated_decisions_opt_out(
        session, customer.id, opted_out=body.opted_out, actor=api_actor(user), source=body.source
    )


class UnblockIn(BaseModel):
    """An identity whose erasure block is to be lifted, and why."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=32, examples=["email"])
    value: str = Field(min_length=1, max_length=320, examples=["ada@example.com"])
    reason: str = Field(
        min_length=1, max_length=500, examples=["came back on 2026-11-25 and consented"]
    )


@router.post("/privacy/unblock", response_model=privacy.UnblockResult)
def unblock_identity(body: UnblockIn, session: SessionDep, user: Admin) -> privacy.UnblockResult:
    """Lift the erasure block of one identity: the person came back and consents (audited).

    Administrators only. 404 (``privacy.not_blocked``) when no block holds the identity,
    422 for an unknown kind or a malformed value.
    """
    return privacy.lift_erasure_block(
        session, body.kind, body.value, actor=api_actor(user), reason=body.reason
    )
