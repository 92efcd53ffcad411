"""Reading everything the store holds about one customer, table by table."""

import base64
import enum
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, select
from sqlalchemy.orm import Session

from kehu.store import Base


def child_reference_columns(parent: Table, *, exclude: set[str]) -> list[Column[Any]]:
    """Return the columns of other tables that point at ``parent``'s primary key.

    Tables named in ``exclude`` (those already exported through their own customer column,
    and ``customers`` itself) are left out.
    """
    columns: list[Column[Any]] = []
    for table in Base.metadata.sorted_tables:
        if table.name in exclude or table is parent:
            continue
        for column in table.columns:
            if any(fk.column.table is parent for fk in column.foreign_keys):
                columns.append(column)
    return columns


def jsonable(value: Any) -> Any:
    """Return ``value`` as something :mod:`json` writes unchanged and a person can read."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return value


def table_rows(
    session: Session, column: ColumnElement[Any], values: list[Any]
) -> list[dict[str, Any]]:
    """Return the rows of ``column``'s table where ``column`` is one of ``values``, as JSON."""
    if not values:
        return []
    table = column.table
    order = list(table.primary_key.columns) or list(table.columns)[:1]
    rows: list[dict[str, Any]] = []
    # Chunked, so a customer with many orders stays under every driver's parameter limit.
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        query = select(table).where(column.in_(chunk)).order_by(*order)
        rows.extend(
            {key: jsonable(value) for key, value in row.items()}
            for row in session.execute(query).mappings()
        )
    return rows
