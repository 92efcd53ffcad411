"""Reading the audit log."""

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from kehu.audit.models import AuditEntry


def list_audit_entries(
    session: Session,
    *,
    object_type: str | None = None,
    object_id: object = None,
    action: str | None = None,
    limit: int = 50,
    offset: int = 0,
    scope: ColumnElement[bool] | None = None,
) -> tuple[Sequence[AuditEntry], int]:
    """Return one page of audit entries (newest first) and the total count matching the filter.

    ``scope`` narrows the entries to those the reader may see (``kehu.access.audit_scope``).
    """
    query = select(AuditEntry)
    if scope is not None:
        query = query.where(scope)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == str(object_id))
    if action:
        query = query.where(AuditEntry.action == action)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return rows, total
