"""Load stage for customers, products, interactions and consents files: row by row.

These files are small next to order logs, so each row goes through the feature's own operation
(:func:`kehu.customers.upsert_customer`, :func:`kehu.commerce.upsert_product`,
:func:`kehu.engagement.log_interaction`, :func:`kehu.customers.record_consent`) inside a
savepoint: a row loads whole or not at all.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from typing_extensions import override

from kehu.commerce import find_product_by_sku, upsert_product
from kehu.core import Actor, KehuError
from kehu.customers import (
    Consent,
    ConsentStatus,
    current_consents,
    find_customer_by_identity,
    find_customer_ids,
    get_customer,
    record_consent,
    upsert_customer,
)
from kehu.engagement import Interaction, log_interaction
from kehu.ingest.mapping import ResolvedMapping
from kehu.ingest.readers import Row
from kehu.ingest.report import ErrorLog
from kehu.ingest.validation import (
    ConsentRow,
    CustomerRow,
    InteractionRow,
    ProductRow,
    validate_row,
)
from kehu.privacy import refuse_erased_record

PROGRESS_EVERY = 1000


@dataclass
class RecordsOutcome:
    """What a row-by-row file did."""

    n_rows: int = 0
    n_loaded: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


class _Loader(ABC):
    """Shared walk over the rows: validation, duplicate keys within the file, progress."""

    entity = ""

    def __init__(
        self,
        session: Session,
        resolved: ResolvedMapping,
        errors: ErrorLog,
        actor: Actor,
        source: str,
    ) -> None:
        self.session = session
        self.resolved = resolved
        self.errors = errors
        self.actor = actor
        self.source = source
        self.outcome = RecordsOutcome(
            counts={self.entity: {"created": 0, "updated": 0, "unchanged": 0}}
        )
        self.seen: dict[str, tuple[int, dict[str, Any]]] = {}

    def count(self, status: str) -> None:
        counts = self.outcome.counts[self.entity]
        counts[status] = counts.get(status, 0) + 1

    def run(
        self,
        rows: Iterator[Row],
        model: type[Any],
        progress: Callable[[int, int], None] | None,
        total: int,
    ) -> RecordsOutcome:
        context = {"date_format": self.resolved.date_format}
        for line, values in rows:
            self.outcome.n_rows += 1
            if progress is not None and self.outcome.n_rows % PROGRESS_EVERY == 0:
                progress(self.outcome.n_rows, max(total, self.outcome.n_rows))
            fields = self.resolved.extract(values)
            row, problems = validate_row(model, fields, context)
            if row is None:
                for name, reason in problems:
                    self.errors.add(line, name, fields.get(name or ""), reason)
                continue
            key, key_field = self.key(row)
            data = row.model_dump()
            if key is not None:
                earlier = self.seen.get(key)
                if earlier is not None:
                    if earlier[1] != data:
                        self.errors.add(
                            line,
                            key_field,
                            key,
                            f"{key_field} {key} already appears on line {earlier[0]} with "
                            "different data; keep one row per "
                            f"{self.entity.rstrip('s')}",
                        )
                    else:
                        self.count("unchanged")
                        self.outcome.n_loaded += 1
                    continue
                self.seen[key] = (line, data)
            try:
                with self.session.begin_nested():
                    status = self.load(row)
            except KehuError as exc:
                self.errors.add(line, key_field, key, exc.message)
                continue
            except ValueError as exc:
                self.errors.add(line, None, None, str(exc))
                continue
            self.count(status)
            self.outcome.n_loaded += 1
        if progress is not None:
            progress(self.outcome.n_rows, self.outcome.n_rows)
        return self.outcome

    @abstractmethod
    def key(self, row: Any) -> tuple[str | None, str | None]:
        """Return the row's key field and value (for duplicate detection and error reports)."""

    @abstractmethod
    def load(self, row: Any) -> str:
        """Load one validated row; return created, updated or unchanged."""

    def customer_id(self, row: InteractionRow | ConsentRow) -> int:
        """Find the customer a row refers to by external id or e-mail."""
        if row.customer_id:
            found = find_customer_ids(self.session, [row.customer_id]).get(row.customer_id)
            if found is None:
                raise ValueError(
                    f"there is no customer with external id {row.customer_id}; import the "
                    "customers first"
                )
            return found
        if row.email:
            customer = find_customer_by_identity(self.session, "email", row.email)
            if customer is None:
                raise ValueError(f"there is no customer with e-mail {row.email}")
            return customer.id
        raise ValueError("give the customer's customer_id or email")


class _Customers(_Loader):
    entity = "customers"

    @override
    def key(self, row: CustomerRow) -> tuple[str | None, str | None]:
        if row.external_id:
            return row.external_id, "external_id"
        return (row.email, "email") if row.email else (None, None)

    @override
    def load(self, row: CustomerRow) -> str:
        refuse_erased_record(self.session, row.to_customer_in())  # erased on request: refused
        result = upsert_customer(
            self.session, row.to_customer_in(), actor=self.actor, source=self.source
        )
        if result.conflicts:
            counts = self.outcome.counts.setdefault("identity_conflicts", {"n": 0})
            counts["n"] += len(result.conflicts)
        return result.status


class _Products(_Loader):
    entity = "products"

    @override
    def key(self, row: ProductRow) -> tuple[str | None, str | None]:
        return row.sku, "sku"

    @override
    def load(self, row: ProductRow) -> str:
        product = find_product_by_sku(self.session, row.sku)
        wanted = {
            "name": row.name,
            "category": row.category,
            "price": row.price,
            "currency": row.currency,
        }
        if product is not None and all(
            value is None or getattr(product, name) == value for name, value in wanted.items()
        ):
            return "unchanged"
        upsert_product(
            self.session,
            sku=row.sku,
            actor=self.actor,
            name=row.name,
            category=row.category,
            price=row.price,
            currency=row.currency,
        )
        return "created" if product is None else "updated"


class _Interactions(_Loader):
    entity = "interactions"

    @override
    def key(self, row: InteractionRow) -> tuple[str | None, str | None]:
        return row.external_id, "external_id"

    @override
    def load(self, row: InteractionRow) -> str:
        customer_id = self.customer_id(row)
        existing = self.session.scalar(
            select(Interaction).where(Interaction.external_id == row.external_id)
        )
        if existing is None:
            log_interaction(
                self.session,
                customer_id=customer_id,
                channel=row.channel,
                direction=row.direction,
                occurred_at=row.occurred_at,
                subject=row.subject,
                text=row.text,
                external_id=row.external_id,
                actor=self.actor,
            )
            return "created"
        same = (
            existing.customer_id == customer_id
            and existing.channel == row.channel
            and existing.direction == row.direction
            and existing.occurred_at == row.occurred_at
            and existing.subject == row.subject
            and existing.text == row.text
        )
        if not same:
            raise ValueError(
                f"interaction {row.external_id} is already logged with different data; "
                "logged interactions are not changed by imports"
            )
        return "unchanged"


class _Consents(_Loader):
    entity = "consents"

    @override
    def key(self, row: ConsentRow) -> tuple[str | None, str | None]:
        return None, None  # consent rows are events; repeating one is harmless

    @override
    def load(self, row: ConsentRow) -> str:
        customer = get_customer(self.session, self.customer_id(row))
        if row.at is not None:
            known = self.session.scalar(
                select(Consent.id).where(
                    Consent.customer_id == customer.id,
                    Consent.channel == row.channel,
                    Consent.purpose == row.purpose,
                    Consent.status == row.status,
                    Consent.at == row.at,
                )
            )
            if known is not None:
                return "unchanged"
        elif current_consents(self.session, customer.id).get(
            (row.channel, row.purpose)
        ) == ConsentStatus(row.status):
            return "unchanged"
        record_consent(
            self.session,
            customer,
            channel=row.channel,
            purpose=row.purpose,
            status=row.status,
            source=row.source or self.source,
            at=row.at,
            actor=self.actor,
        )
        return "created"


_LOADERS: dict[str, tuple[type[_Loader], type[Any]]] = {
    "customers": (_Customers, CustomerRow),
    "products": (_Products, ProductRow),
    "interactions": (_Interactions, InteractionRow),
    "consents": (_Consents, ConsentRow),
}


def import_records(
    session: Session,
    kind: str,
    rows: Iterator[Row],
    resolved: ResolvedMapping,
    errors: ErrorLog,
    *,
    actor: Actor,
    source: str,
    progress: Callable[[int, int], None] | None = None,
    total: int = 0,
) -> RecordsOutcome:
    """Validate and load a customers, products, interactions or consents file row by row."""
    loader_class, model = _LOADERS[kind]
    loader = loader_class(session, resolved, errors, actor, source)
    return loader.run(rows, model, progress, total)
