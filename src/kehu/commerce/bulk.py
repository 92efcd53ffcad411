"""Bulk writes for imports: products and whole orders, set-wise.

One import can carry a million order lines; writing them through :func:`create_order` (an ORM
object and an audit row per order) would take minutes. These functions write the same rows in a
few statements: executemany of Core inserts on SQLite, ``COPY`` on PostgreSQL. Each call
writes one audit row with its counts.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.commerce.models import Order, OrderKind, OrderLine, Product
from kehu.core import Actor, utcnow
from kehu.store.bulk import insert_rows

_CHUNK = 900  # below SQLite's oldest bound-parameter limit
_ORDERS: Table = Order.__table__  # type: ignore[assignment]  # a Table at run time
_LINES: Table = OrderLine.__table__  # type: ignore[assignment]  # a Table at run time
_PRODUCTS: Table = Product.__table__  # type: ignore[assignment]  # a Table at run time

#: (line_no, product_id, quantity, unit_price, discount)
LineTuple = tuple[int, int, int, Decimal, Decimal]


@dataclass(slots=True)
class BulkOrder:
    """An order to load, with its lines already resolved to product ids."""

    external_id: str
    customer_id: int | None
    kind: OrderKind
    ordered_at: datetime
    channel: str
    currency: str
    country: str | None
    lines: list[LineTuple] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        """Net value of the order: quantity x unit price - discount, over the lines."""
        return sum((q * p - d for _, _, q, p, d in self.lines), Decimal("0.00"))

    def fingerprint(self) -> tuple[Any, ...]:
        """Everything stored about the order, to tell an unchanged re-import."""
        return (
            self.customer_id,
            str(self.kind),
            self.ordered_at,
            self.channel,
            self.currency,
            self.country,
            tuple(sorted(self.lines)),
        )


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def ensure_products(
    session: Session, names: Mapping[str, str], *, actor: Actor, currency: str = "GBP"
) -> tuple[dict[str, int], dict[str, int]]:
    """Make sure a product exists for each SKU; return ``{sku: id}`` and the counts.

    A new product takes the name given; an existing product keeps its name unless it has none.
    """
    skus = sorted(names)
    existing: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(skus):
        for sku, product_id, name in session.execute(
            select(Product.sku, Product.id, Product.name).where(Product.sku.in_(chunk))
        ):
            existing[sku] = (product_id, name)
    now = utcnow()
    missing = [sku for sku in skus if sku not in existing]
    if missing:
        insert_rows(
            session,
            _PRODUCTS,
            (
                "sku",
                "name",
                "category",
                "currency",
                "is_durable",
                "in_stock",
                "created_at",
                "updated_at",
            ),
            ((sku, names[sku][:300], "", currency, False, True, now, now) for sku in missing),
            ignore_conflicts=True,
        )
        for chunk in _chunks(missing):
            for sku, product_id in session.execute(
                select(Product.sku, Product.id).where(Product.sku.in_(chunk))
            ):
                existing[sku] = (product_id, names[sku])
    named = [
        {"b_id": existing[sku][0], "b_name": names[sku][:300], "b_at": now}
        for sku in skus
        if sku not in missing and not existing[sku][1] and names[sku]
    ]
    if named:
        session.execute(
            update(_PRODUCTS)
            .where(_PRODUCTS.c.id == bindparam("b_id"))
            .values(name=bindparam("b_name"), updated_at=bindparam("b_at")),
            named,
        )
    counts = {
        "created": len(missing),
        "updated": len(named),
        "unchanged": len(skus) - len(missing) - len(named),
    }
    if missing or named:
        record(
            session,
            actor=actor,
            action="product.bulk_upsert",
            object_type="product",
            summary=f"{len(missing)} product(s) created, {len(named)} named",
            changes=counts,
        )
    return {sku: ids[0] for sku, ids in existing.items()}, counts


def _existing_orders(session: Session, external_ids: list[str]) -> dict[str, tuple[int, BulkOrder]]:
    """Load the stored orders among ``external_ids`` (id and lines) for comparison."""
    found: dict[str, tuple[int, BulkOrder]] = {}
    by_id: dict[int, BulkOrder] = {}
    for chunk in _chunks(external_ids):
        for row in session.execute(select(_ORDERS).where(_ORDERS.c.external_id.in_(chunk))):
            order = BulkOrder(
                row.external_id,
                row.customer_id,
                OrderKind(row.kind),
                row.ordered_at,
                row.channel,
                row.currency,
                row.country,
            )
            found[row.external_id] = (row.id, order)
            by_id[row.id] = order
    ids = list(by_id)
    for chunk in _chunks(ids):
        for order_id, line_no, product_id, quantity, unit_price, discount in session.execute(
            select(
                _LINES.c.order_id,
                _LINES.c.line_no,
                _LINES.c.product_id,
                _LINES.c.quantity,
                _LINES.c.unit_price,
                _LINES.c.discount,
            ).where(_LINES.c.order_id.in_(chunk))
        ):
            by_id[order_id].lines.append(
                (line_no, product_id, quantity, Decimal(unit_price), Decimal(discount))
            )
    for order in by_id.values():
        order.lines.sort()
    return found


_ORDER_COLUMNS = (
    "external_id",
    "customer_id",
    "kind",
    "ordered_at",
    "channel",
    "currency",
    "country",
    "total",
    "created_at",
    "updated_at",
)
_LINE_COLUMNS = ("order_id", "line_no", "product_id", "quantity", "unit_price", "discount")


def _order_row(order: BulkOrder, now: datetime) -> tuple[Any, ...]:
    return (
        order.external_id,
        order.customer_id,
        order.kind.value,
        order.ordered_at,
        order.channel,
        order.currency,
        order.country,
        order.total,
        now,
        now,
    )


def _insert_orders(session: Session, orders: list[BulkOrder]) -> None:
    now = utcnow()
    insert_rows(
        session,
        _ORDERS,
        _ORDER_COLUMNS,
        (_order_row(order, now) for order in orders),
        ignore_conflicts=True,  # an order created meanwhile by another import stays as it is
    )
    ids: dict[str, int] = {}
    for chunk in _chunks([order.external_id for order in orders]):
        for external_id, order_id in session.execute(
            select(_ORDERS.c.external_id, _ORDERS.c.id).where(_ORDERS.c.external_id.in_(chunk))
        ):
            ids[external_id] = order_id
    insert_rows(
        session,
        _LINES,
        _LINE_COLUMNS,
        (
            (order_id, *line)
            for order in orders
            for order_id in (ids[order.external_id],)
            for line in order.lines
        ),
    )


def load_orders(session: Session, orders: Sequence[BulkOrder], *, actor: Actor) -> dict[str, int]:
    """Create or update whole orders, keyed on their external id; return the counts.

    An order already stored with the same customer, time, channel, currency, country and lines
    is ``unchanged``; one that differs is ``updated`` (its lines replaced); the rest are
    ``created``. Writes one audit row for the whole call.
    """
    if not orders:
        return {"created": 0, "updated": 0, "unchanged": 0}
    stored = _existing_orders(session, [order.external_id for order in orders])
    new = [order for order in orders if order.external_id not in stored]
    changed = [
        order
        for order in orders
        if order.external_id in stored
        and stored[order.external_id][1].fingerprint() != order.fingerprint()
    ]
    if new:
        _insert_orders(session, new)
    if changed:
        now = utcnow()
        ids = {order.external_id: stored[order.external_id][0] for order in changed}
        for order in changed:
            values = dict(zip(_ORDER_COLUMNS, _order_row(order, now), strict=True))
            del values["created_at"], values["external_id"]
            session.execute(update(_ORDERS).where(_ORDERS.c.id == ids[order.external_id]), values)
        for chunk in _chunks(list(ids.values())):
            session.execute(delete(_LINES).where(_LINES.c.order_id.in_(chunk)))
        insert_rows(
            session,
            _LINES,
            _LINE_COLUMNS,
            ((ids[order.external_id], *line) for order in changed for line in order.lines),
        )
    counts = {
        "created": len(new),
        "updated": len(changed),
        "unchanged": len(orders) - len(new) - len(changed),
    }
    if new or changed:
        n_lines = sum(len(order.lines) for order in [*new, *changed])
        record(
            session,
            actor=actor,
            action="order.bulk_load",
            object_type="order",
            summary=f"{counts['created']} order(s) created, {counts['updated']} updated, "
            f"{n_lines} line(s) written",
            changes=counts,
        )
    return counts
