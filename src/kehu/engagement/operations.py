"""Writes for interactions."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError
from kehu.engagement.models import Direction, Interaction


def log_interaction(
    session: Session,
    *,
    customer_id: int,
    channel: str,
    direction: Direction | str,
    occurred_at: datetime,
    actor: Actor,
    subject: str = "",
    text: str = "",
    user_id: int | None = None,
    external_id: str | None = None,
) -> Interaction:
    """Record a contact with a customer (a call, a message, a visit...)."""
    try:
        direction = Direction(direction)
    except ValueError as exc:
        raise InvalidInputError(
            f"Direction must be inbound or outbound, not {direction!r}.",
            code="engagement.bad_direction",
        ) from exc
    if external_id and session.scalar(
        select(Interaction.id).where(Interaction.external_id == external_id)
    ):
        raise ConflictError(
            f"An interaction with external id {external_id!r} already exists.",
            code="engagement.duplicate_interaction",
        )
    interaction = Interaction(
        customer_id=customer_id,
        channel=channel.strip().lower(),
        direction=direction,
        occurred_at=occurred_at,
        subject=subject,
        text=text,
        user_id=user_id,
        external_id=external_id,
    )
    session.add(interaction)
    session.flush()
    record(
        session,
        actor=actor,
        action="interaction.create",
        object_type="customer",
        object_id=customer_id,
        summary=f"{direction.value} {interaction.channel}: {subject}"[:500],
    )
    return interaction
