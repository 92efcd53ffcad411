"""Reads for interactions."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.engagement.models import Interaction


def list_interactions(
    session: Session, *, customer_id: int | None = None, limit: int = 50, offset: int = 0
) -> tuple[Sequence[Interaction], int]:
    """Return one page of interactions, newest first, and the number matching."""
    query = select(Interaction)
    if customer_id is not None:
        query = query.where(Interaction.customer_id == customer_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total
