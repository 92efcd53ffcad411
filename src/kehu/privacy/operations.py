"""Privacy operations: exporting one person's data (PIPL art. 45, GDPR art. 15/20)."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, utcnow
from kehu.customers import Customer, customer_reference_columns, get_customer
from kehu.privacy.queries import (
    child_reference_columns,
    jsonable,
    table_rows,
)
from kehu.privacy.schemas import PersonalDataExport


def export_customer(session: Session, customer_id: int, *, actor: Actor) -> PersonalDataExport:
    """Return everything the store holds about customer ``customer_id``, and audit the export.

    Every table with a foreign key to ``customers`` is read (identities, contacts, consents,
    orders, interactions, tickets, posts, recommendation events, scores, tasks, the contact
    ledger... and whatever a later feature adds), then one level of the tables that hang off
    those rows (order lines, ticket messages...). Raises :class:`kehu.core.NotFoundError` for
    an unknown customer. The audit entry names the customer and counts rows per table; it
    holds none of the exported data. Tables are those registered: the app, the CLI and the
    tests import :mod:`kehu.models` (this feature may not: it would import the importer).
    """
    customer = get_customer(session, customer_id)
    customers = Customer.__table__
    own = {
        key: jsonable(value)
        for key, value in session.execute(select(customers).where(customers.c.id == customer.id))
        .mappings()
        .one()
        .items()
    }
    merged = table_rows(session, customers.c.merged_into_id, [customer.id])

    references = customer_reference_columns()
    direct = {column.table.name for column in references} | {"customers"}
    records: dict[str, list[dict[str, Any]]] = {}
    related: dict[str, list[dict[str, Any]]] = {}
    for column in references:
        rows = table_rows(session, column, [customer.id])
        if not rows:
            continue
        # A table may point at the customer twice (contacts: account and person): merge by key.
        bucket = records.setdefault(column.table.name, [])
        pk = [c.name for c in column.table.primary_key.columns]
        seen = {tuple(r.get(name) for name in pk) for r in bucket}
        bucket.extend(r for r in rows if not pk or tuple(r.get(name) for name in pk) not in seen)
        if len(pk) != 1:
            continue
        ids = [r[pk[0]] for r in rows]
        for child in child_reference_columns(column.table, exclude=direct):
            child_rows = table_rows(session, child, ids)
            if child_rows:
                related.setdefault(child.table.name, []).extend(child_rows)

    document = PersonalDataExport(
        exported_at=utcnow(),
        customer_id=customer.id,
        customer=own,
        merged_customers=merged,
        records=records,
        related=related,
    )
    record(
        session,
        actor=actor,
        action="customer.export",
        object_type="customer",
        object_id=customer.id,
        summary=f"exported the personal data of customer {customer.id}",
        changes={
            "format": document.format,
            "rows": {name: len(rows) for name, rows in {**records, **related}.items() if rows},
        },
    )
    return document
