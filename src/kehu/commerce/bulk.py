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

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.commerce.models import Order, OrderKind, OrderLine, Product
from kehu.core import Actor, utcnow
from kehu.store.bulk import insert_columns, insert_rows, select_by_keys, sqlite_timestamps

_CHUNK = 900  # below SQLite's oldest bound-parameter limit
_ORDERS: Table = Order.__table__  # type: ignore[assignment]  # a Table at run time
_LINES: Table = OrderLine.__table__  # type: ignore[assignment]  # a Table at run time
_PRODUCTS: Table = Product.__table__  # type: ignore[assignment]  # a Table at run time
_CENT = Decimal("0.01")

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


Ints = npt.NDArray[np.int64]


@dataclass
class BulkOrders:
    """Whole orders as columns: a large import's shape (one Python object per order, not line).

    Order ``i`` has the lines ``offsets[i]:offsets[i + 1]`` of the line arrays; amounts are in
    cents.
    """

    external_id: list[str]
    customer_id: list[int | None]
    kind: list[OrderKind]
    ordered_at: list[datetime]
    channel: list[str]
    currency: list[str]
    country: list[str | None]
    offsets: Ints
    line_no: Ints
    product_id: Ints
    quantity: Ints
    unit_price_cents: Ints
    discount_cents: Ints

    def __len__(self) -> int:
        return len(self.external_id)

    @classmethod
    def from_orders(cls, orders: Sequence[BulkOrder]) -> "BulkOrders":
        """Return the columns of a list of :class:`BulkOrder`."""
        lines = [line for order in orders for line in order.lines]
        cents = [
            (int(p.quantize(_CENT).scaleb(2)), int(d.quantize(_CENT).scaleb(2)))
            for _, _, _, p, d in lines
        ]
        return cls(
            [o.external_id for o in orders],
            [o.customer_id for o in orders],
            [o.kind for o in orders],
            [o.ordered_at for o in orders],
            [o.channel for o in orders],
            [o.currency for o in orders],
            [o.country for o in orders],
            np.cumsum([0, *(len(o.lines) for o in orders)], dtype=np.int64),
            np.array([line[0] for line in lines], dtype=np.int64),
            np.array([line[1] for line in lines], dtype=np.int64),
            np.array([line[2] for line in lines], dtype=np.int64),
            np.array([c[0] for c in cents], dtype=np.int64),
            np.array([c[1] for c in cents], dtype=np.int64),
        )

    def totals_cents(self) -> list[int]:
        """Net value of each order in cents: quantity x unit price - discount, over its lines."""
        q, p, d = self.quantity, self.unit_price_cents, self.discount_cents
        bound = float(np.abs(q).max(initial=0)) * float(np.abs(p).max(initial=0))
        bound = (bound + float(np.abs(d).max(initial=0))) * max(len(q), 1)
        if bound < 2.0**62:
            net = np.concatenate(([0], np.cumsum(q * p - d)))
            return (net[self.offsets[1:]] - net[self.offsets[:-1]]).tolist()  # type: ignore[no-any-return]
        values = [int(a) * int(b) - int(c) for a, b, c in zip(q, p, d, strict=True)]
        bounds = self.offsets.tolist()
        return [sum(values[bounds[i] : bounds[i + 1]]) for i in range(len(self))]

    def fingerprint(self, i: int) -> tuple[Any, ...]:
        """Everything stored about order ``i``, to tell an unchanged re-import."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        lines = zip(
            self.line_no[a:b].tolist(),
            self.product_id[a:b].tolist(),
            self.quantity[a:b].tolist(),
            self.unit_price_cents[a:b].tolist(),
            self.discount_cents[a:b].tolist(),
            strict=True,
        )
        return (
            self.customer_id[i],
            str(self.kind[i]),
            self.ordered_at[i],
            self.channel[i],
            self.currency[i],
            self.country[i],
            tuple(sorted(lines)),
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


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _stored_orders(
    session: Session, external_ids: list[str]
) -> dict[str, tuple[int, tuple[Any, ...]]]:
    """Return ``{external id: (id, fingerprint)}`` for the stored orders among ``external_ids``."""
    headers: dict[int, tuple[str, list[Any]]] = {}
    columns = (
        _ORDERS.c.id,
        _ORDERS.c.external_id,
        _ORDERS.c.customer_id,
        _ORDERS.c.kind,
        _ORDERS.c.ordered_at,
        _ORDERS.c.channel,
        _ORDERS.c.currency,
        _ORDERS.c.country,
    )
    # Most keys of a large load are new: find which exist first, read them typed after.
    known = [
        row[0]
        for row in select_by_keys(session, _ORDERS, "external_id", external_ids, ["external_id"])
    ]
    if _is_postgresql(session):
        key_chunks: Iterable[Sequence[str]] = [known] if known else []
    else:
        key_chunks = _chunks(known)
    for chunk in key_chunks:
        if _is_postgresql(session):
            where = _ORDERS.c.external_id == func.any(bindparam("keys", list(chunk)))
        else:
            where = _ORDERS.c.external_id.in_(chunk)
        for row in session.execute(select(*columns).where(where)):
            headers[row.id] = (
                row.external_id,
                [
                    row.customer_id,
                    str(OrderKind(row.kind)),
                    row.ordered_at,
                    row.channel,
                    row.currency,
                    row.country,
                ],
            )
    lines: dict[int, list[tuple[int, int, int, int, int]]] = {order_id: [] for order_id in headers}
    ids = list(headers)
    for chunk in _chunks(ids, 900 if not _is_postgresql(session) else 100_000):
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
            lines[order_id].append(
                (
                    line_no,
                    product_id,
                    quantity,
                    int(Decimal(unit_price).quantize(_CENT).scaleb(2)),
                    int(Decimal(discount).quantize(_CENT).scaleb(2)),
                )
            )
    return {
        external_id: (order_id, (*header, tuple(sorted(lines[order_id]))))
        for order_id, (external_id, header) in headers.items()
    }


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


def _order_rows(orders: BulkOrders, chosen: list[int], now: datetime) -> list[tuple[Any, ...]]:
    totals = orders.totals_cents()
    return [
        (
            orders.external_id[i],
            orders.customer_id[i],
            orders.kind[i].value,
            orders.ordered_at[i],
            orders.channel[i],
            orders.currency[i],
            orders.country[i],
            Decimal(totals[i]).scaleb(-2),
            now,
            now,
        )
        for i in chosen
    ]


def _sqlite_order_columns(orders: BulkOrders, chosen: list[int], now: datetime) -> list[list[Any]]:
    """Return the columns of :func:`_order_rows` as SQLite stores them, built column-wise."""
    totals = orders.totals_cents()
    every = len(chosen) == len(orders)

    def pick(values: list[Any]) -> list[Any]:
        return values if every else [values[i] for i in chosen]

    (stamp,) = sqlite_timestamps([now])
    return [
        pick(orders.external_id),
        pick(orders.customer_id),
        [kind.value for kind in pick(orders.kind)],
        sqlite_timestamps(pick(orders.ordered_at)),
        pick(orders.channel),
        pick(orders.currency),
        pick(orders.country),
        [total / 100 for total in pick(totals)],  # as float(Decimal): both round correctly
        [stamp] * len(chosen),
        [stamp] * len(chosen),
    ]


def _insert_lines(session: Session, orders: BulkOrders, chosen: list[int], ids: list[int]) -> None:
    """Insert the lines of orders ``chosen`` (in that order), whose stored ids are ``ids``."""
    sizes = np.diff(orders.offsets)
    if len(chosen) == len(orders):
        pick: Ints | slice = slice(None)
        order_ids = np.repeat(np.array(ids, dtype=np.int64), sizes[chosen])
    else:
        mask = np.zeros(len(orders), dtype=bool)
        mask[chosen] = True
        by_order = np.zeros(len(orders), dtype=np.int64)
        by_order[chosen] = ids
        pick = np.flatnonzero(np.repeat(mask, sizes))
        order_ids = np.repeat(by_order, sizes)[pick]
    line_no = orders.line_no[pick]
    # Inserted in (order, line) order: the unique index on them is then appended to.
    sort = np.lexsort((line_no, order_ids))
    price = orders.unit_price_cents[pick][sort]
    discount = orders.discount_cents[pick][sort]
    money: list[Any]
    if _is_postgresql(session):
        import pyarrow as pa
        import pyarrow.compute as pc

        cent = pa.scalar(_CENT, pa.decimal128(3, 2))
        money = [
            pc.multiply(pa.array(values).cast(pa.decimal128(20, 0)), cent)
            for values in (price, discount)
        ]
    else:  # SQLite stores Numeric as float; cents / 100 rounds as float(Decimal) does
        money = [price / 100, discount / 100]
    insert_columns(
        session,
        _LINES,
        _LINE_COLUMNS,
        [
            order_ids[sort],
            line_no[sort],
            orders.product_id[pick][sort],
            orders.quantity[pick][sort],
            *money,
        ],
    )


def _insert_orders(session: Session, orders: BulkOrders, chosen: list[int]) -> list[int]:
    """Insert orders ``chosen``; return their ids (an order created meanwhile keeps its own)."""
    now = utcnow()
    keys = [orders.external_id[i] for i in chosen]
    returned: list[tuple[Any, ...]] = []
    if _is_postgresql(session):
        # The orders get their ids in one statement that returns them.
        returned = insert_rows(
            session,
            _ORDERS,
            _ORDER_COLUMNS,
            _order_rows(orders, chosen, now),
            ignore_conflicts=True,
            returning=("external_id", "id"),
        )
        where_new = None
    else:
        floor = session.scalar(select(func.coalesce(func.max(_ORDERS.c.id), 0)))
        insert_columns(
            session,
            _ORDERS,
            _ORDER_COLUMNS,
            _sqlite_order_columns(orders, chosen, now),
            ignore_conflicts=True,  # an order created meanwhile by another import stays
        )
        # SQLite gives new rows ids above the largest: one range read finds them all.
        where_new = _ORDERS.c.id > floor
    found: dict[str, int] = {}
    if where_new is not None:
        for external_id, order_id in session.execute(
            select(_ORDERS.c.external_id, _ORDERS.c.id).where(where_new)
        ):
            found[external_id] = order_id
    else:
        found = dict(returned)
    missing = [key for key in keys if key not in found]
    for chunk in _chunks(missing):
        for external_id, order_id in session.execute(
            select(_ORDERS.c.external_id, _ORDERS.c.id).where(_ORDERS.c.external_id.in_(chunk))
        ):
            found[external_id] = order_id
    return [found[key] for key in keys]


def load_orders(
    session: Session, orders: Sequence[BulkOrder] | BulkOrders, *, actor: Actor
) -> dict[str, int]:
    """Create or update whole orders, keyed on their external id; return the counts.

    ``orders`` is a list of :class:`BulkOrder` or, for large loads, :class:`BulkOrders`. An
    order already stored with the same customer, time, channel, currency, country and lines
    is ``unchanged``; one that differs is ``updated`` (its lines replaced); the rest are
    ``created``. Writes one audit row for the whole call.
    """
    table = orders if isinstance(orders, BulkOrders) else BulkOrders.from_orders(orders)
    if len(table) == 0:
        return {"created": 0, "updated": 0, "unchanged": 0}
    stored = _stored_orders(session, table.external_id)
    new: list[int] = []
    changed: list[int] = []
    for i, key in enumerate(table.external_id):
        known = stored.get(key)
        if known is None:
            new.append(i)
        elif known[1] != table.fingerprint(i):
            changed.append(i)
    if new:
        _insert_lines(session, table, new, _insert_orders(session, table, new))
    if changed:
        now = utcnow()
        ids = [stored[table.external_id[i]][0] for i in changed]
        for order_id, row in zip(ids, _order_rows(table, changed, now), strict=True):
            values = dict(zip(_ORDER_COLUMNS, row, strict=True))
            del values["created_at"], values["external_id"]
            session.execute(update(_ORDERS).where(_ORDERS.c.id == order_id), values)
        for chunk in _chunks(ids):
            session.execute(delete(_LINES).where(_LINES.c.order_id.in_(chunk)))
        _insert_lines(session, table, changed, ids)
    counts = {
        "created": len(new),
        "updated": len(changed),
        "unchanged": len(table) - len(new) - len(changed),
    }
    if new or changed:
        sizes = np.diff(table.offsets)
        n_lines = int(sizes[new].sum() + sizes[changed].sum())
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
