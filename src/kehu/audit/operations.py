"""Writing the audit log. Every other feature's operations call :func:`record`."""

from typing import Any

from sqlalchemy.orm import Session

from kehu.audit.models import AuditEntry
from kehu.core.actor import Actor


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object = None,
    summary: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row in the caller's transaction (it commits or rolls back with the change)."""
    entry = AuditEntry(
        actor_kind=actor.kind,
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        summary=summary[:500],
        changes=changes,
    )
    session.add(entry)
    return entry
