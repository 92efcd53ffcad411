"""Imports: upload a file (or dry-run it), follow runs, download templates and error reports.

The upload is parsed from the request stream with a cap, so a file over
``settings.max_upload_bytes`` is refused with 413 before it is read whole.
"""

import json
from collections.abc import AsyncGenerator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from kehu import ingest
from kehu.api.deps import Bulk, SessionDep, SettingsDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import (
    MAX_ID,
    DbId,
    ImportKindPublic,
    ImportRunPublic,
    ImportRunsPublic,
    MappingCreate,
    MappingPublic,
    MappingsPublic,
)
from kehu.core import InvalidInputError, NotFoundError

router = APIRouter(prefix="/imports", tags=["imports"], route_class=ApiRoute)

# Room for the multipart envelope and the small form fields around the file itself.
_ENVELOPE_BYTES = 64 * 1024
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "dry_run": {"type": "boolean", "default": False},
                        "mapping_name": {"type": "string"},
                        "format": {
                            "type": "string",
                            "enum": ["csv", "xlsx", "jsonl", "parquet", "cdnow"],
                            "description": "When the file name does not tell",
                        },
                        "mapping": {
                            "type": "string",
                            "description": 'JSON object {"<kehu field>": "<file column>"}',
                        },
                    },
                }
            }
        },
    }
}


class _TooLargeError(Exception):
    pass


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status_code=413,
        detail=f"The file is larger than the upload limit of {limit:,} bytes; split it or "
        "raise KEHU_MAX_UPLOAD_BYTES.",
    )


def _check_kind(kind: str) -> str:
    if kind not in ingest.KINDS:
        kinds = ", ".join(sorted(ingest.KINDS))
        raise NotFoundError(
            f"There is no import kind {kind!r}; use one of {kinds}.", code="imports.unknown_kind"
        )
    return kind


async def _capped_stream(request: Request, cap: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > cap:
            raise _TooLargeError
        yield chunk


def _flag(value: str | None, name: str) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInputError(f"{name} must be true or false, not {value!r}.")


async def _read_upload(request: Request, limit: int) -> tuple[str, bytes, dict[str, str]]:
    """Return the uploaded file's name and bytes and the other form fields, within ``limit``."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise HTTPException(
            status_code=415,
            detail="Send the file as multipart/form-data with the file in a field named `file`.",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _ENVELOPE_BYTES:
        raise _too_large(limit)
    parser = MultiPartParser(
        request.headers,
        _capped_stream(request, limit + _ENVELOPE_BYTES),
        max_files=1,
        max_fields=10,
    )
    try:
        form = await parser.parse()
    except _TooLargeError as exc:
        raise _too_large(limit) from exc
    except MultiPartException as exc:
        raise InvalidInputError(f"The upload is not valid multipart data: {exc.message}") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInputError(
                "No file: send it in a multipart field named `file`.", code="imports.no_file"
            )
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise _too_large(limit)
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        return upload.filename or "upload", data, fields
    finally:
        await form.close()


def _parse_mapping(text: str | None) -> dict[str, str] | None:
    if not text or not text.strip():
        return None
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"mapping is not valid JSON: {exc.msg}.") from exc
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise InvalidInputError(
            'mapping must be a JSON object of strings: {"<kehu field>": "<file column>"}.'
        )
    return mapping


@router.get("/mappings", response_model=MappingsPublic)
def read_mappings(
    session: SessionDep,
    user: Bulk,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> MappingsPublic:
    """List saved column mappings, optionally of one kind."""
    del user
    rows = ingest.list_mappings(session, kind=kind)
    return MappingsPublic(data=[MappingPublic.model_validate(m) for m in rows], count=len(rows))


@router.post("/mappings", response_model=MappingPublic, status_code=201)
def save_mapping(body: MappingCreate, session: SessionDep, user: Bulk) -> MappingPublic:
    """Save (or replace) a named column mapping for a kind of import."""
    _check_kind(body.kind)
    mapping = ingest.save_mapping(
        session, kind=body.kind, name=body.name, columns=body.columns, actor=api_actor(user)
    )
    return MappingPublic.model_validate(mapping)


@router.get("/kinds", response_model=list[ImportKindPublic])
def read_import_kinds(user: Bulk) -> list[ImportKindPublic]:
    """List the kinds of import and the fields each accepts (required ones flagged)."""
    del user
    return [
        ImportKindPublic(
            kind=kind,
            fields=[
                {
                    "name": spec.name,
                    "required": spec.required,
                    "description": spec.description,
                    "example": spec.example,
                }
                for spec in ingest.describe_kind(kind)
            ],
        )
        for kind in ingest.KINDS
    ]


@router.get("/templates/{kind}", response_class=Response)
def download_template(kind: str, user: Bulk) -> Response:
    """Download an empty CSV with the columns a kind of import takes (and an example row)."""
    del user
    _check_kind(kind)
    return Response(
        content=ingest.template_csv(kind),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kehu-{kind}-template.csv"'},
    )


@router.get("", response_model=ImportRunsPublic)
def read_import_runs(
    session: SessionDep,
    user: Bulk,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> ImportRunsPublic:
    """List import runs, newest first."""
    del user
    rows, count = ingest.list_import_runs(session, limit=limit, offset=offset)
    return ImportRunsPublic(data=[ImportRunPublic.model_validate(r) for r in rows], count=count)


@router.get("/{import_id}", response_model=ImportRunPublic)
def read_import_run(import_id: DbId, session: SessionDep, user: Bulk) -> ImportRunPublic:
    """Return one import run with its counts and first row errors."""
    del user
    return ImportRunPublic.model_validate(ingest.get_import_run(session, import_id))


@router.get("/{import_id}/errors.csv", response_class=Response)
def download_errors(import_id: DbId, session: SessionDep, user: Bulk) -> Response:
    """Download the row errors of an import run as CSV (line, column, value, reason)."""
    del user
    run = ingest.get_import_run(session, import_id)
    return Response(
        content=ingest.errors_csv(run),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kehu-import-{run.id}-errors.csv"'},
    )


def _run_import(
    session: Session, *, kind: str, data: bytes, filename: str, fields: dict[str, str], **kw: Any
) -> ImportRunPublic:
    run = ingest.run_import(
        session,
        kind=kind,
        data=data,
        filename=filename,
        mapping=_parse_mapping(fields.get("mapping")),
        mapping_name=(fields.get("mapping_name") or "").strip() or None,
        dry_run=_flag(fields.get("dry_run"), "dry_run"),
        file_format=(fields.get("format") or "").strip().lower() or None,
        **kw,
    )
    return ImportRunPublic.model_validate(run)


@router.post("/{kind}", response_model=ImportRunPublic, openapi_extra=_UPLOAD_BODY)
async def import_file(
    kind: str, request: Request, session: SessionDep, settings: SettingsDep, user: Bulk
) -> ImportRunPublic:
    """Import a CSV/JSON file of one kind (or dry-run it); the run reports every row error.

    Multipart fields: ``file``, ``dry_run`` (true/false), ``mapping_name`` (a saved mapping),
    ``mapping`` (a JSON object) and ``format`` (when the file name does not tell). A file
    over the upload limit is refused with 413.
    """
    _check_kind(kind)
    filename, data, fields = await _read_upload(request, settings.max_upload_bytes)
    return await run_in_threadpool(
        _run_import,
        session,
        kind=kind,
        data=data,
        filename=filename[:500],
        fields=fields,
        actor=api_actor(user),
        max_bytes=settings.max_upload_bytes,
    )
