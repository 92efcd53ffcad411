"""Ingest: read → map → validate → load → report, for customers, products, orders and more."""

from kehu.ingest.kinds import KINDS, FieldSpec, describe_kind, template_csv
from kehu.ingest.mapping import DATE_FORMAT_KEY, delete_mapping, suggest_mapping
from kehu.ingest.models import ImportMapping, ImportRun
from kehu.ingest.preview import preview_import
from kehu.ingest.readers import FORMATS, read_table
from kehu.ingest.report import MAX_STORED_ERRORS, errors_csv
from kehu.ingest.runs import (
    DEFAULT_MAX_BYTES,
    get_import_run,
    list_import_runs,
    list_mappings,
    run_import,
    save_mapping,
)


def detect_columns(data: bytes, filename: str) -> list[str]:
    """Return a file's column names (its header), for a mapping screen.

    Raises
    ------
    InvalidInputError
        When the file is empty, binary or malformed.
    """
    return read_table(data, filename).columns


__all__ = [
    "DATE_FORMAT_KEY",
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "KINDS",
    "MAX_STORED_ERRORS",
    "FieldSpec",
    "ImportMapping",
    "ImportRun",
    "delete_mapping",
    "describe_kind",
    "detect_columns",
    "errors_csv",
    "get_import_run",
    "list_import_runs",
    "list_mappings",
    "preview_import",
    "run_import",
    "save_mapping",
    "suggest_mapping",
    "template_csv",
]
