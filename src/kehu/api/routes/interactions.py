"""Interactions: every contact with a customer."""

from typing import Annotated

from fastapi import APIRouter, Query

from kehu import access, engagement
from kehu.access import customer_reference
from kehu.api.deps import Editor, Reader, SessionDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import (
    MAX_ID,
    DbId,
    InteractionCreate,
    InteractionPublic,
    InteractionsPublic,
)

router = APIRouter(prefix="/interactions", tags=["interactions"], route_class=ApiRoute)


@router.get("", response_model=InteractionsPublic)
def read_interactions(
    session: SessionDep,
    user: Reader,
    customer_id: DbId | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> InteractionsPublic:
    """List interactions, newest first."""
    rows, count = engagement.list_interactions(
        session,
        customer_id=customer_id,
        limit=limit,
        offset=offset,
        where=access.record_scope(user, engagement.Interaction.customer_id),
    )
    return InteractionsPublic(data=[InteractionPublic.model_validate(i) for i in rows], count=count)


@router.post("", response_model=InteractionPublic, status_code=201)
def log_interaction(
    body: InteractionCreate, session: SessionDep, user: Editor
) -> InteractionPublic:
    """Log a contact with a customer, made by the caller."""
    customer = customer_reference(session, user, body.customer_id, field="customer_id")
    interaction = engagement.log_interaction(
        session,
        customer_id=customer.id,
        channel=body.channel,
        direction=body.direction,
        occurred_at=body.occurred_at,
        actor=api_actor(user),
        subject=body.subject,
        text=body.text,
        user_id=user.id,
        external_id=body.external_id,
    )
    return InteractionPublic.model_validate(interaction)
