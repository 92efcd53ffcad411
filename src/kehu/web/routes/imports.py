"""Imports: upload a file, read the per-row report, download templates and error lists."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from kehu import ingest
from kehu.core import InvalidInputError, NotFoundError, Settings
from kehu.users import user_actor
from kehu.web.csrf import verify_csrf
from kehu.web.deps import DbSession, Manager, manager
from kehu.web.rendering import render
from kehu.web.routes.customers import parse_id

router = APIRouter()

#: How many row errors the result page shows; the CSV download has them all.
SHOWN_ERRORS = 200


def _form_context(db: DbSession, **extra: Any) -> dict[str, Any]:
    kinds = list(ingest.KINDS)
    context: dict[str, Any] = {
        "kinds": kinds,
        "fields": {kind: ingest.describe_kind(kind) for kind in kinds},
        "mappings": ingest.list_mappings(db),
        "runs": ingest.list_import_runs(db, limit=20, offset=0)[0],
        "nav": "imports",
        "selected_kind": kinds[0] if kinds else "",
        "dry_run": False,
        "selected_mapping": "",
        "error": None,
    }
    context.update(extra)
    return context


def _check_kind(kind: str) -> str:
    if kind not in ingest.KINDS:
        raise NotFoundError(
            f"There is no import kind {kind[:40]!r}; use one of {', '.join(ingest.KINDS)}.",
            code="web.unknown_kind",
        )
    return kind


@router.get("/imports", dependencies=[Depends(manager)])
def import_page(request: Request, db: DbSession) -> Response:
    """Show the upload form, the template downloads and the past imports."""
    return render(request, "imports/index.html", _form_context(db))


@router.post("/imports", dependencies=[Depends(verify_csrf)])
def upload(
    request: Request,
    db: DbSession,
    user: Manager,
    kind: Annotated[str, Form(max_length=32)],
    file: Annotated[UploadFile, File()],
    dry_run: Annotated[bool, Form()] = False,
    mapping_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Run an import (or a dry run) of the uploaded file and show its report."""
    settings: Settings = request.app.state.settings
    values = {"selected_kind": kind, "dry_run": dry_run, "selected_mapping": mapping_name}
    if kind not in ingest.KINDS:
        return render(
            request,
            "imports/index.html",
            _form_context(db, error=f"Unknown import kind {kind[:40]!r}.", **values),
            status_code=422,
        )
    data = file.file.read(settings.max_upload_bytes + 1)
    if not file.filename or not data:
        return render(
            request,
            "imports/index.html",
            _form_context(db, error="Choose a file to import.", **values),
            status_code=422,
        )
    try:
        run = ingest.run_import(
            db,
            kind=kind,
            data=data,
            filename=file.filename,
            actor=user_actor(user),
            mapping_name=mapping_name or None,
            dry_run=dry_run,
            max_bytes=settings.max_upload_bytes,
        )
    except InvalidInputError as exc:
        db.rollback()
        return render(
            request,
            "imports/index.html",
            _form_context(db, error=exc.message, **values),
            status_code=422,
        )
    db.commit()
    return RedirectResponse(f"/imports/{run.id}", status_code=303)


@router.get("/imports/templates/{kind}.csv", dependencies=[Depends(manager)])
def template(kind: str) -> Response:
    """Download an empty CSV with the columns an import of ``kind`` reads."""
    _check_kind(kind)
    return Response(
        ingest.template_csv(kind),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kehu-{kind}-template.csv"'},
    )


def _get_run(db: DbSession, run_id: str) -> ingest.ImportRun:
    return ingest.get_import_run(db, parse_id(run_id, "import"))


@router.get("/imports/{run_id}", dependencies=[Depends(manager)])
def import_result(request: Request, db: DbSession, run_id: str) -> Response:
    """Show the outcome of one import with its per-row errors."""
    run = _get_run(db, run_id)
    errors = list(run.errors or [])
    return render(
        request,
        "imports/result.html",
        {
            "run": run,
            "errors": errors[:SHOWN_ERRORS],
            "n_shown": min(len(errors), SHOWN_ERRORS),
            "nav": "imports",
        },
    )


@router.get("/imports/{run_id}/errors.csv", dependencies=[Depends(manager)])
def errors_csv(db: DbSession, run_id: str) -> Response:
    """Download every row error of one import as CSV."""
    run = _get_run(db, run_id)
    return Response(
        ingest.errors_csv(run),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kehu-import-{run.id}-errors.csv"'},
    )
