"""Bulk writes for imports: make sure many customers exist, in a few statements.

The per-record :func:`kehu.customers.upsert_customer` is the rule for customer files; order
files only reference customers by external id, and creating tens of thousands of them one by
one would dominate an import, so this module does it set-wise (and writes one audit row).
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, utcnow
from kehu.customers.models import Customer, CustomerKind, Identity, IdentityKind
from kehu.store.bulk import insert_rows, select_by_keys

_CHUNK = 900
_CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]  # a Table at run time
_IDENTITIES: Table = Identity.__table__  # type: ignore[assignment]  # a Table at run time  # below SQLite's oldest bound-parameter limit


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def find_customer_ids(session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    """Return ``{external id: customer id}`` for those that exist, following merges."""
    keys = sorted(set(external_ids))
    found: dict[str, int] = {}
    merged: dict[int, int] = {}
    rows = select_by_keys(
        session, _CUSTOMERS, "external_id", keys, ["external_id", "id", "merged_into_id"]
    )
    if rows:
        for external_id, customer_id, merged_into_id in rows:
            found[str(external_id)] = customer_id
            if merged_into_id is not None:
                merged[customer_id] = merged_into_id
    while merged:  # follow merges to the surviving customer
        found = {key: merged.get(value, value) for key, value in found.items()}
        merged = {
            customer_id: target
            for customer_id, target in session.execute(
                select(Customer.id, Customer.merged_into_id).where(
                    Customer.id.in_(set(merged.values())), Customer.merged_into_id.is_not(None)
                )
            )
            if target is not None
        }
    return found


def ensure_customers(
    session: Session, countries: Mapping[str, str | None], *, actor: Actor, source: str = "import"
) -> tuple[dict[str, int], int]:
    """Make sure a customer exists for each external id; return the id map and how many were new.

    New customers get the external id (also as an ``external_id`` identity, as
    :func:`kehu.customers.upsert_customer` would give them) and the country given; existing
    customers are left as they are.
    """
    ids = find_customer_ids(session, countries)
    missing = [key for key in countries if key not in ids]
    if missing:
        now = utcnow()
        insert_rows(
            session,
            _CUSTOMERS,
            (
                "external_id",
                "kind",
                "name",
                "notes",
                "country",
                "is_active",
                "created_at",
                "updated_at",
            ),
            (
                (key, CustomerKind.PERSON.value, "", "", countries[key], True, now, now)
                for key in missing
            ),
            ignore_conflicts=True,
        )
        created = find_customer_ids(session, missing)
        insert_rows(
            session,
            _IDENTITIES,
            ("customer_id", "kind", "value", "source", "verified", "created_at", "updated_at"),
            (
                (customer_id, IdentityKind.EXTERNAL_ID.value, key, source[:64], False, now, now)
                for key, customer_id in created.items()
            ),
            ignore_conflicts=True,  # the handle may already point at someone (then it stays)
        )
        ids.update(created)
        record(
            session,
            actor=actor,
            action="customer.bulk_create",
            object_type="customer",
            summary=f"{len(created)} customer(s) created from {source or 'a bulk load'}",
            changes={"n_created": len(created)},
        )
    return ids, len(missing)
