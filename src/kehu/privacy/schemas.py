"""The personal-data export document (PIPL art. 45, GDPR art. 15/20)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

#: Name and version of the export document's shape; bumped when the shape changes.
EXPORT_FORMAT = "kehu.personal-data/1"


class PersonalDataExport(BaseModel):
    """Everything the store holds about one customer, as plain JSON.

    ``records`` maps each table that points at the customer (found from the foreign keys, so
    a new feature's table is included without a change here) to its rows; rows of tables
    that hang off those rows (order lines under orders, messages under tickets...) are under
    ``related``, keyed by their own table name. ``merged_customers`` are the customer records
    that were merged into this one.
    """

    format: str = EXPORT_FORMAT
    exported_at: datetime
    customer_id: int
    customer: dict[str, Any]
    merged_customers: list[dict[str, Any]] = Field(default_factory=list)
    records: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    related: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
