"""The import pipeline end to end, saved mappings, and the record of runs."""

import pathlib
from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, InvalidInputError, NotFoundError, utcnow
from kehu.ingest.kinds import check_kind
from kehu.ingest.mapping import DATE_FORMAT_KEY, resolve_mapping
from kehu.ingest.models import ImportMapping, ImportRun
from kehu.ingest.orders import import_orders
from kehu.ingest.posts import import_posts
from kehu.ingest.readers import read_table
from kehu.ingest.records import import_records
from kehu.ingest.report import MAX_STORED_ERRORS, ErrorLog

#: Default size limit when the caller does not pass ``Settings.max_upload_bytes``.
DEFAULT_MAX_BYTES = 200 * 1024 * 1024


def _read_bytes(data: bytes | pathlib.Path, filename: str, max_bytes: int) -> bytes:
    limit = f"{max_bytes / 1024 / 1024:.1f} MiB"
    if isinstance(data, pathlib.Path):
        try:
            size = data.stat().st_size
        except OSError as exc:
            raise InvalidInputError(
                f"Cannot read {filename}: {exc.strerror}.", code="ingest.unreadable"
            ) from exc
        if size > max_bytes:
            raise InvalidInputError(
                f"{filename} is {size / 1024 / 1024:.1f} MiB, over the {limit} limit; split it "
                "or raise KEHU_MAX_UPLOAD_BYTES.",
                code="ingest.too_large",
            )
        data = data.read_bytes()
    if len(data) > max_bytes:
        raise InvalidInputError(
            f"{filename} is {len(data) / 1024 / 1024:.1f} MiB, over the {limit} limit; split it "
            "or raise KEHU_MAX_UPLOAD_BYTES.",
            code="ingest.too_large",
        )
    return data


def _saved_columns(session: Session, kind: str, name: str) -> dict[str, str]:
    saved = session.scalar(
        select(ImportMapping).where(ImportMapping.kind == kind, ImportMapping.name == name)
    )
    if saved is None:
        names = session.scalars(
            select(ImportMapping.name).where(ImportMapping.kind == kind).order_by("name")
        ).all()
        raise InvalidInputError(
            f"There is no saved {kind} mapping named {name!r}; saved ones: "
            f"{', '.join(names) or 'none'}.",
            code="ingest.unknown_mapping",
        )
    return dict(saved.columns)


def run_import(
    session: Session,
    *,
    kind: str,
    data: bytes | pathlib.Path,
    filename: str,
    actor: Actor,
    mapping: dict[str, str] | None = None,
    mapping_name: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    file_format: str | None = None,
) -> ImportRun:
    """Import one file: read, map, validate, load, and record the run.

    Parameters
    ----------
    kind
        One of :data:`kehu.ingest.KINDS`.
    data
        The file's bytes, or its path.
    filename
        The name shown in messages (its extension picks the format unless ``file_format``).
    mapping
        ``{kehu field: source column}``; fields left out are matched by name or alias. The key
        ``__date_format__`` gives a strptime format for ambiguous dates.
    mapping_name
        A saved mapping to start from (``mapping`` overrides its entries).
    dry_run
        Validate and count everything, then roll it back: only the run (status ``previewed``)
        is written.
    progress
        Called as ``progress(done, total)`` every few thousand rows (``total`` is an estimate
        until the end).
    max_bytes
        Size limit; pass ``Settings.max_upload_bytes``.
    file_format
        ``csv``, ``xlsx``, ``jsonl``, ``parquet`` or ``cdnow`` (whitespace-separated CDNOW
        log), when the name does not tell.

    Returns
    -------
    ImportRun
        Flushed, not committed: the caller owns the transaction. Row problems are in
        ``errors``; times without a zone were taken as UTC.

    Raises
    ------
    InvalidInputError
        When the file as a whole cannot be used (unknown kind, empty, too large, undecodable,
        malformed, a required field without a column, a mapping naming a missing column).
        Nothing is written then.
    """
    check_kind(kind)
    columns = _saved_columns(session, kind, mapping_name) if mapping_name else {}
    columns.update(mapping or {})
    raw = _read_bytes(data, filename, max_bytes)
    table = read_table(raw, filename, kind=kind, file_format=file_format)
    resolved = resolve_mapping(kind, table.columns, columns)
    errors = ErrorLog(resolved.columns)
    started_at = utcnow()
    source = f"import:{filename}"[:64]
    savepoint = session.begin_nested()
    try:
        if kind == "orders":
            outcome = import_orders(
                session, table, resolved, errors, actor=actor, source=source, progress=progress
            )
            n_rows, n_loaded, counts = outcome.n_rows, outcome.n_loaded, outcome.counts
        elif kind == "posts":
            posts = import_posts(
                session,
                table.rows,
                resolved,
                errors,
                actor=actor,
                source=source,
                progress=progress,
                total=table.n_rows_estimate,
            )
            n_rows, n_loaded, counts = posts.n_rows, posts.n_loaded, posts.counts
        else:
            result = import_records(
                session,
                kind,
                table.rows,
                resolved,
                errors,
                actor=actor,
                source=source,
                progress=progress,
                total=table.n_rows_estimate,
            )
            n_rows, n_loaded, counts = result.n_rows, result.n_loaded, result.counts
        if n_rows == 0:
            raise InvalidInputError(f"{filename} has a header but no rows.", code="ingest.empty")
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    message = [f"{n_loaded} of {n_rows} row(s) {'would load' if dry_run else 'loaded'}"]
    if table.format == "cdnow":
        message.append("read as a CDNOW log (whitespace-separated)")
    else:
        message.append(f"format {table.format}")
    if table.encoding:
        message.append(f"encoding {table.encoding}")
    message.append("times without a zone taken as UTC")
    if errors.is_truncated:
        message.append(f"only the first {MAX_STORED_ERRORS} of {errors.n_errors} problems are kept")
    run = ImportRun(
        kind=kind,
        filename=filename[:500],
        status="previewed" if dry_run else "applied",
        dry_run=dry_run,
        started_at=started_at,
        finished_at=utcnow(),
        actor_label=actor.label,
        n_rows=n_rows,
        n_loaded=n_loaded,
        n_errors=len(errors.bad_lines),
        counts=counts,
        errors=errors.entries,
        mapping={
            **resolved.columns,
            **({DATE_FORMAT_KEY: resolved.date_format} if resolved.date_format else {}),
        },
        message="; ".join(message)[:1000],
    )
    session.add(run)
    session.flush()
    if not dry_run:
        record(
            session,
            actor=actor,
            action="import.apply",
            object_type="import_run",
            object_id=run.id,
            summary=f"{kind} from {filename}: {n_loaded}/{n_rows} row(s) loaded, "
            f"{run.n_errors} rejected",
            changes={"counts": counts, "n_errors": run.n_errors},
        )
        session.flush()
    return run


def save_mapping(
    session: Session, *, kind: str, name: str, columns: dict[str, str], actor: Actor
) -> ImportMapping:
    """Save (or replace) a named mapping ``{kehu field: source column}`` for ``kind``.

    Raises
    ------
    InvalidInputError
        For an unknown kind, an empty name or a field that ``kind`` does not have.
    """
    specs = check_kind(kind)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInputError(
            "A mapping needs a name of 1 to 200 characters.", code="ingest.bad_mapping_name"
        )
    fields = {spec.name for spec in specs} | {DATE_FORMAT_KEY}
    unknown = sorted(set(columns) - fields)
    if unknown:
        raise InvalidInputError(
            f"Unknown {kind} field(s) in the mapping: {', '.join(unknown)}.",
            code="ingest.unknown_field",
        )
    saved = session.scalar(
        select(ImportMapping).where(ImportMapping.kind == kind, ImportMapping.name == name)
    )
    if saved is None:
        saved = ImportMapping(kind=kind, name=name, columns=dict(columns), created_by=actor.label)
        session.add(saved)
    else:
        saved.columns = dict(columns)
    session.flush()
    record(
        session,
        actor=actor,
        action="import_mapping.save",
        object_type="import_mapping",
        object_id=saved.id,
        summary=f"{kind}: {name}",
        changes={"columns": dict(columns)},
    )
    return saved


def list_mappings(session: Session, kind: str | None = None) -> Sequence[ImportMapping]:
    """Return the saved mappings (of one kind, or all), by kind and name."""
    query = select(ImportMapping)
    if kind is not None:
        query = query.where(ImportMapping.kind == kind)
    return session.scalars(query.order_by(ImportMapping.kind, ImportMapping.name)).all()


def get_import_run(session: Session, run_id: int) -> ImportRun:
    """Return an import run or raise :class:`NotFoundError`."""
    run = session.get(ImportRun, run_id)
    if run is None:
        raise NotFoundError(f"There is no import run {run_id}.", code="ingest.run_not_found")
    return run


def list_import_runs(
    session: Session, *, limit: int = 50, offset: int = 0
) -> tuple[Sequence[ImportRun], int]:
    """Return one page of import runs, newest first, and how many there are."""
    total = session.scalar(select(func.count()).select_from(ImportRun)) or 0
    rows = session.scalars(
        select(ImportRun).order_by(ImportRun.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, total
