"""Report stage: row-level errors (capped) and their CSV download."""

import csv
import io
from typing import Any

from kehu.ingest.models import ImportRun

#: The most row errors an import run keeps; the count (n_errors) is always complete.
MAX_STORED_ERRORS = 5000


class ErrorLog:
    """Collects row errors; keeps the first :data:`MAX_STORED_ERRORS`, counts them all."""

    def __init__(self, columns: dict[str, str] | None = None) -> None:
        self.entries: list[dict[str, Any]] = []
        self.n_errors = 0
        self.bad_lines: set[int] = set()
        self._columns = columns or {}

    def add(
        self, line: int, field: str | None, value: object, reason: str, *, is_column: bool = False
    ) -> None:
        """Record a problem of line ``line`` in ``field`` (reported under its source column)."""
        self.n_errors += 1
        self.bad_lines.add(line)
        if len(self.entries) < MAX_STORED_ERRORS:
            column = field if is_column or field is None else self._columns.get(field, field)
            self.entries.append(
                {
                    "line": line,
                    "column": column,
                    "value": None if value is None else str(value)[:200],
                    "reason": reason,
                }
            )

    @property
    def is_truncated(self) -> bool:
        """Tell whether some errors were counted but not kept."""
        return self.n_errors > len(self.entries)


def errors_csv(run: ImportRun) -> str:
    """Return the run's row errors as CSV (line, column, value, reason), sorted by line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["line", "column", "value", "reason"])
    for error in sorted(run.errors or [], key=lambda e: e.get("line") or 0):
        writer.writerow(
            [
                error.get("line"),
                error.get("column") or "",
                error.get("value") or "",
                error["reason"],
            ]
        )
    return buffer.getvalue()
