"""Imports: upload a file, map its columns, preview, import, and read the per-row report.

Two ways in. ``POST /imports`` imports (or dry-runs) a file in one step. ``POST /imports/map``
keeps the file on the server and walks through mapping its columns, a preview of the first
rows as kehu will load them (plus a dry run of the whole file), then the import itself, with
no second upload. The kept file lives in a private temporary folder under a random token that
only this browser session knows; the client never names a path. Files are deleted once
imported, and after an hour in any case.
"""

import re
import secrets
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from kehu import ingest
from kehu.core import InvalidInputError, NotFoundError, Settings
from kehu.users import user_actor
from kehu.web.csrf import verify_csrf
from kehu.web.deps import DbSession, Manager, manager
from kehu.web.rendering import flash, render
from kehu.web.routes.customers import parse_id

router = APIRouter()

#: How many row errors the result page shows; the CSV download has them all.
SHOWN_ERRORS = 200
#: How many rows the preview shows, as kehu will load them.
PREVIEW_ROWS = 10
#: How long an uploaded file waits for its import, in seconds.
UPLOAD_TTL_S = 3600
#: How many uploads one browser session may keep at once (the oldest goes first).
MAX_UPLOADS = 5
#: Where uploads wait between the steps (a private folder, one file per token).
UPLOAD_DIR = Path(tempfile.gettempdir()) / "kehu-uploads"

_SESSION_KEY = "imports"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_FIELD_PREFIX = "map-"


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
        "date_format_key": ingest.DATE_FORMAT_KEY,
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


def _index_error(
    request: Request, db: DbSession, message: str, status_code: int, **values: Any
) -> Response:
    return render(
        request,
        "imports/index.html",
        _form_context(db, error=message, **values),
        status_code=status_code,
    )


@router.get("/imports", dependencies=[Depends(manager)])
def import_page(request: Request, db: DbSession) -> Response:
    """Show the upload form, the saved mappings, the template downloads and the past imports."""
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
        return _index_error(request, db, f"Unknown import kind {kind[:40]!r}.", 422, **values)
    data = file.file.read(settings.max_upload_bytes + 1)
    if not file.filename or not data:
        return _index_error(request, db, "Choose a file to import.", 422, **values)
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
        return _index_error(request, db, exc.message, 422, **values)
    db.commit()
    return RedirectResponse(f"/imports/{run.id}", status_code=303)


# --- Kept uploads: a token in the session, the bytes in UPLOAD_DIR ----------------------------


class UploadGoneError(Exception):
    """The upload a form names is unknown to this session, or too old: upload it again."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def upload_path(token: str) -> Path:
    """Return where the upload ``token`` is kept (``token`` must be one this module made)."""
    if not _TOKEN.match(token):
        raise ValueError("not an upload token")
    return UPLOAD_DIR / token


def _uploads(request: Request) -> dict[str, dict[str, Any]]:
    kept = request.session.get(_SESSION_KEY)
    return dict(kept) if isinstance(kept, dict) else {}


def _forget(request: Request, token: str) -> None:
    kept = _uploads(request)
    kept.pop(token, None)
    request.session[_SESSION_KEY] = kept
    upload_path(token).unlink(missing_ok=True)


def _sweep_old_uploads() -> None:
    """Delete kept files older than the time limit (whoever uploaded them)."""
    cutoff = time.time() - UPLOAD_TTL_S
    for path in UPLOAD_DIR.glob("*"):
        try:
            if _TOKEN.match(path.name) and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue  # another worker removed it first


def _keep_upload(request: Request, data: bytes, *, kind: str, filename: str) -> str:
    UPLOAD_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    _sweep_old_uploads()
    token = secrets.token_hex(16)
    path = upload_path(token)
    with path.open("xb") as out:  # a fresh name: never an existing file
        out.write(data)
    kept = _uploads(request)
    for old in list(kept)[: max(len(kept) - MAX_UPLOADS + 1, 0)]:
        kept.pop(old)
        upload_path(old).unlink(missing_ok=True)
    kept[token] = {"kind": kind, "filename": filename[:200], "mapping": None, "run_id": None}
    request.session[_SESSION_KEY] = kept
    return token


def _kept_upload(request: Request, token: str) -> tuple[dict[str, Any], bytes]:
    """Return this session's upload ``token`` and its bytes, or raise :class:`UploadGoneError`."""
    entry = _uploads(request).get(token) if _TOKEN.match(token) else None
    if not isinstance(entry, dict):
        raise UploadGoneError(
            "This upload is not known to this session (it was already imported, or the link "
            "is not yours). Upload the file again.",
            404,
        )
    path = upload_path(token)
    try:
        age = time.time() - path.stat().st_mtime
        data = path.read_bytes() if age <= UPLOAD_TTL_S else b""
    except OSError:
        age, data = UPLOAD_TTL_S + 1.0, b""
    if age > UPLOAD_TTL_S:
        _forget(request, token)
        raise UploadGoneError(
            "This upload has expired: kehu keeps an uploaded file for an hour. "
            "Upload the file again.",
            410,
        )
    return entry, data


def _gone(request: Request, db: DbSession, exc: UploadGoneError) -> Response:
    return _index_error(request, db, exc.message, exc.status_code)


def _submitted_mapping(kind: str, form: dict[str, str]) -> dict[str, str]:
    """Return ``{field: column}`` from the mapping form ("" = not mapped), date format included."""
    mapping = {
        spec.name: form.get(_FIELD_PREFIX + spec.name, "").strip()
        for spec in ingest.describe_kind(kind)
    }
    date_format = form.get("date_format", "").strip()
    if date_format:
        mapping[ingest.DATE_FORMAT_KEY] = date_format[:100]
    return mapping


async def _form_fields(request: Request) -> dict[str, str]:
    """Return the posted form's text fields (Starlette parses a form once per request)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormFields = Annotated[dict[str, str], Depends(_form_fields)]


def _selection(kind: str, columns: list[str], given: dict[str, str] | None) -> dict[str, str]:
    """Return the column to pre-select for each field: the given mapping, else kehu's guess."""
    selected = ingest.suggest_mapping(kind, columns)
    for field, column in (given or {}).items():
        if field != ingest.DATE_FORMAT_KEY and (column in columns or column == ""):
            selected[field] = column
    return selected


def _map_page(
    request: Request,
    db: DbSession,
    token: str,
    entry: dict[str, Any],
    data: bytes,
    *,
    given: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
    save_name: str = "",
) -> Response:
    kind = entry["kind"]
    try:
        columns = ingest.detect_columns(data, entry["filename"])
    except InvalidInputError as exc:
        _forget(request, token)
        return _index_error(request, db, exc.message, 422, selected_kind=kind)
    given = given if given is not None else entry.get("mapping")
    selected = _selection(kind, columns, given)
    used = set(selected.values())
    return render(
        request,
        "imports/map.html",
        {
            "nav": "imports",
            "token": token,
            "kind": kind,
            "filename": entry["filename"],
            "fields": ingest.describe_kind(kind),
            "columns": columns,
            "selected": selected,
            "ignored": [c for c in columns if c not in used],
            "date_format": (given or {}).get(ingest.DATE_FORMAT_KEY, ""),
            "field_prefix": _FIELD_PREFIX,
            "has_dates": kind != "products",
            "save_name": save_name,
            "error": error,
        },
        status_code=status_code,
    )


@router.post("/imports/map", dependencies=[Depends(verify_csrf), Depends(manager)])
def start_mapping(
    request: Request,
    db: DbSession,
    kind: Annotated[str, Form(max_length=32)],
    file: Annotated[UploadFile, File()],
    mapping_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Keep the uploaded file on the server and open its column mapping."""
    settings: Settings = request.app.state.settings
    values = {"selected_kind": kind, "selected_mapping": mapping_name}
    if kind not in ingest.KINDS:
        return _index_error(request, db, f"Unknown import kind {kind[:40]!r}.", 422, **values)
    data = file.file.read(settings.max_upload_bytes + 1)
    if not file.filename or not data:
        return _index_error(request, db, "Choose a file to import.", 422, **values)
    if len(data) > settings.max_upload_bytes:
        limit = f"{settings.max_upload_bytes / 1024 / 1024:.1f} MiB"
        return _index_error(
            request,
            db,
            f"{file.filename} is over the {limit} upload limit; split it or raise "
            "KEHU_MAX_UPLOAD_BYTES.",
            413,
            **values,
        )
    try:
        ingest.detect_columns(data, file.filename)
    except InvalidInputError as exc:
        return _index_error(request, db, exc.message, 422, **values)
    given: dict[str, str] | None = None
    if mapping_name:
        saved = {m.name: m for m in ingest.list_mappings(db, kind)}.get(mapping_name)
        if saved is None:
            return _index_error(
                request,
                db,
                f"There is no saved {kind} mapping named {mapping_name[:200]!r}.",
                422,
                **values,
            )
        given = dict(saved.columns)
    token = _keep_upload(request, data, kind=kind, filename=file.filename)
    if given is not None:
        _remember_mapping(request, token, mapping=given)
    return RedirectResponse(f"/imports/uploads/{token}", status_code=303)


@router.get("/imports/uploads/{token}", dependencies=[Depends(manager)])
def mapping_page(request: Request, db: DbSession, token: str) -> Response:
    """Show kehu's fields for the kind, each with a choice of the file's columns."""
    try:
        entry, data = _kept_upload(request, token)
    except UploadGoneError as exc:
        return _gone(request, db, exc)
    return _map_page(request, db, token, entry, data)


@router.post(
    "/imports/uploads/{token}/ignored", dependencies=[Depends(verify_csrf), Depends(manager)]
)
def ignored_columns(request: Request, token: str, form: FormFields) -> Response:
    """Return the list of ignored columns for the choices on the screen (an HTMX partial)."""
    try:
        entry, data = _kept_upload(request, token)
        columns = ingest.detect_columns(data, entry["filename"])
    except (UploadGoneError, InvalidInputError) as exc:
        return render(request, "imports/_ignored.html", {"ignored": [], "gone": exc.message})
    used = set(_submitted_mapping(entry["kind"], form).values())
    return render(
        request, "imports/_ignored.html", {"ignored": [c for c in columns if c not in used]}
    )


def _remember_mapping(request: Request, token: str, **changes: Any) -> None:
    kept = _uploads(request)
    kept[token] = {**kept[token], **changes}
    request.session[_SESSION_KEY] = kept


@router.post("/imports/uploads/{token}/save", dependencies=[Depends(verify_csrf)])
def save_upload_mapping(
    request: Request, db: DbSession, user: Manager, token: str, form: FormFields
) -> Response:
    """Save the mapping on the screen under a name, for later files of the same layout."""
    try:
        entry, data = _kept_upload(request, token)
    except UploadGoneError as exc:
        return _gone(request, db, exc)
    kind = entry["kind"]
    mapping = _submitted_mapping(kind, form)
    name = form.get("save_name", "").strip()
    if not name:
        return _map_page(
            request,
            db,
            token,
            entry,
            data,
            given=mapping,
            error="Give the mapping a name to save it.",
            status_code=422,
        )
    try:
        saved = ingest.save_mapping(
            db,
            kind=kind,
            name=name,
            columns={field: column for field, column in mapping.items() if column},
            actor=user_actor(user),
        )
    except InvalidInputError as exc:
        db.rollback()
        return _map_page(
            request,
            db,
            token,
            entry,
            data,
            given=mapping,
            error=exc.message,
            status_code=422,
            save_name=name[:200],
        )
    db.commit()
    _remember_mapping(request, token, mapping=mapping)
    flash(request, "success", "Mapping {name} saved.", name=saved.name)
    return RedirectResponse(f"/imports/uploads/{token}", status_code=303)


@router.post("/imports/uploads/{token}/preview", dependencies=[Depends(verify_csrf)])
def preview_upload(
    request: Request, db: DbSession, user: Manager, token: str, form: FormFields
) -> Response:
    """Dry-run the whole file with the mapping on the screen, then show the preview."""
    settings: Settings = request.app.state.settings
    try:
        entry, data = _kept_upload(request, token)
    except UploadGoneError as exc:
        return _gone(request, db, exc)
    mapping = _submitted_mapping(entry["kind"], form)
    try:
        run = ingest.run_import(
            db,
            kind=entry["kind"],
            data=data,
            filename=entry["filename"],
            actor=user_actor(user),
            mapping=mapping,
            dry_run=True,
            max_bytes=settings.max_upload_bytes,
        )
    except InvalidInputError as exc:
        db.rollback()
        return _map_page(
            request, db, token, entry, data, given=mapping, error=exc.message, status_code=422
        )
    db.commit()
    _remember_mapping(request, token, mapping=mapping, run_id=run.id)
    return RedirectResponse(f"/imports/uploads/{token}/preview", status_code=303)


def _shown(value: object) -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


@router.get("/imports/uploads/{token}/preview", dependencies=[Depends(manager)])
def preview_page(request: Request, db: DbSession, token: str) -> Response:
    """Show the dry run's counts and errors and the first rows as kehu will load them."""
    try:
        entry, data = _kept_upload(request, token)
    except UploadGoneError as exc:
        return _gone(request, db, exc)
    run_id = entry.get("run_id")
    if not isinstance(run_id, int):
        return RedirectResponse(f"/imports/uploads/{token}", status_code=303)
    run = ingest.get_import_run(db, run_id)
    mapping = dict(entry.get("mapping") or {})
    kind = entry["kind"]
    try:
        rows = ingest.preview_import(
            kind=kind, data=data, filename=entry["filename"], mapping=mapping, n=PREVIEW_ROWS
        )
    except InvalidInputError as exc:
        return _map_page(
            request, db, token, entry, data, given=mapping, error=exc.message, status_code=422
        )
    mapped = {f for f in (run.mapping or {}) if f != ingest.DATE_FORMAT_KEY}
    shown = [spec.name for spec in ingest.describe_kind(kind) if spec.name in mapped]
    if kind == "orders":
        shown.append("kind")
    errors = list(run.errors or [])
    return render(
        request,
        "imports/preview.html",
        {
            "nav": "imports",
            "token": token,
            "run": run,
            "kind": kind,
            "filename": entry["filename"],
            "columns": shown,
            "mapping": dict(run.mapping or {}),
            "rows": [
                {
                    "line": row["line"],
                    "cells": [_shown(row.get(name)) for name in shown],
                    "errors": row["errors"],
                    "parsed": any(row.get(name) is not None for name in shown),
                }
                for row in rows
            ],
            "errors": errors[:SHOWN_ERRORS],
            "n_shown": min(len(errors), SHOWN_ERRORS),
        },
    )


@router.post("/imports/uploads/{token}/apply", dependencies=[Depends(verify_csrf)])
def apply_upload(request: Request, db: DbSession, user: Manager, token: str) -> Response:
    """Import the kept file for real with the previewed mapping, then forget the file."""
    settings: Settings = request.app.state.settings
    try:
        entry, data = _kept_upload(request, token)
    except UploadGoneError as exc:
        return _gone(request, db, exc)
    mapping = dict(entry.get("mapping") or {})
    try:
        run = ingest.run_import(
            db,
            kind=entry["kind"],
            data=data,
            filename=entry["filename"],
            actor=user_actor(user),
            mapping=mapping,
            max_bytes=settings.max_upload_bytes,
        )
    except InvalidInputError as exc:
        db.rollback()
        return _map_page(
            request, db, token, entry, data, given=mapping, error=exc.message, status_code=422
        )
    db.commit()
    _forget(request, token)
    return RedirectResponse(f"/imports/{run.id}", status_code=303)


@router.post("/imports/mappings/{mapping_id}/delete", dependencies=[Depends(verify_csrf)])
def delete_saved_mapping(
    request: Request, db: DbSession, user: Manager, mapping_id: str
) -> Response:
    """Delete a saved mapping (past imports keep the mapping they used)."""
    ident = parse_id(mapping_id, "saved mapping")
    saved = {m.id: m.name for m in ingest.list_mappings(db)}.get(ident, "")
    ingest.delete_mapping(db, mapping_id=ident, actor=user_actor(user))
    db.commit()
    flash(request, "success", "Mapping {name} deleted.", name=saved)
    return RedirectResponse("/imports", status_code=303)


# --- Templates, results, error downloads ------------------------------------------------------


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
