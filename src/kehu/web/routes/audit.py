"""The audit log: who changed what, when."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from kehu.access import audit_scope
from kehu.audit import list_audit_entries
from kehu.web.deps import CurrentUser, DbSession, manager
from kehu.web.rendering import render

router = APIRouter()

PAGE_SIZE = 50


@router.get("/audit", dependencies=[Depends(manager)])
def audit_log(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    object_type: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """List audit entries, newest first, filtered by object type and action.

    Administrators read every entry; a manager reads what their team did (docs/access.md).
    """
    entries, total = list_audit_entries(
        db,
        object_type=object_type.strip() or None,
        action=action.strip() or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        scope=audit_scope(user),
    )
    return render(
        request,
        "audit/list.html",
        {
            "entries": entries,
            "total": total,
            "page": page,
            "n_pages": max(1, -(-total // PAGE_SIZE)),
            "object_type": object_type,
            "action": action,
            "nav": "audit",
        },
    )
