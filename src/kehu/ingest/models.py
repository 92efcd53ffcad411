"""Import runs (with their per-row reports) and saved column mappings."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kehu.core.clock import utcnow
from kehu.store import Base, IdPK, TimestampMixin


class ImportMapping(TimestampMixin, Base):
    """A saved, reusable mapping from a file's column names to kehu's fields."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[IdPK]
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    # {"<kehu field>": "<source column>"}
    columns: Mapped[dict[str, str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(320), default="")


class ImportRun(Base):
    """One import (or dry run) of one file, with its outcome and row-level errors."""

    __tablename__ = "import_runs"

    id: Mapped[IdPK]
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))  # previewed | applied | failed
    dry_run: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    n_rows: Mapped[int] = mapped_column(default=0)
    n_loaded: Mapped[int] = mapped_column(default=0)
    n_errors: Mapped[int] = mapped_column(default=0)
    # {"created": n, "updated": n, "unchanged": n, ...} per entity
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The first errors (line, column, value, reason); the full list is in the downloadable report.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, str] | None] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(String(1000), default="")
