"""The audit log: who changed what, when."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from kehu.audit import list_audit_entries
from kehu.web.deps import DbSession, manager
from kehu.web.rendering import render

router = APIRouter()

PAGE_SIZE = 50


@router.get("/audit", dependencies=[Depends(manager)])
def audit_log(
    request: Request,
    db: DbSession,
    object_type: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """List audit entries, newest first, filtered by object type and action."""
    entries, total = list_audit_entries(
        db,
        object_type=object_type.strip() or None,
        action=action.strip() or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
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
