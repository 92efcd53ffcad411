"""The audit log."""

from typing import Annotated

from fastapi import APIRouter, Query

from kehu import audit
from kehu.access import audit_scope
from kehu.api.deps import Auditor, SessionDep
from kehu.api.errors import ApiRoute
from kehu.api.schemas import MAX_ID, AuditEntriesPublic, AuditEntryPublic

router = APIRouter(prefix="/audit", tags=["audit"], route_class=ApiRoute)


@router.get("", response_model=AuditEntriesPublic)
def read_audit_entries(
    session: SessionDep,
    user: Auditor,
    object_type: Annotated[str | None, Query(max_length=64, examples=["customer"])] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64, examples=["customer.merge"])] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> AuditEntriesPublic:
    """Return the audit log, newest first, filtered by object and action.

    Administrators read every entry; a manager reads what their team did (docs/access.md).
    """
    rows, count = audit.list_audit_entries(
        session,
        object_type=object_type,
        object_id=object_id,
        action=action,
        limit=limit,
        offset=offset,
        scope=audit_scope(user),
    )
    return AuditEntriesPublic(data=[AuditEntryPublic.model_validate(e) for e in rows], count=count)
