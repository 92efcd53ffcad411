"""Writes for products and orders; each is audited. Bulk imports live in ``kehu.ingest``."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.commerce.models import Order, OrderKind, OrderLine, Product
from kehu.core import Actor, ConflictError, InvalidInputError, to_money


@dataclass(frozen=True)
class LineInput:
    """One line of an order to create."""

    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal("0")
    name: str = ""


def upsert_product(
    session: Session,
    *,
    sku: str,
    actor: Actor,
    name: str | None = None,
    category: str | None = None,
    price: Decimal | None = None,
    currency: str | None = None,
) -> Product:
    """Create the product with this SKU, or update the fields given."""
    sku = sku.strip()
    if not sku:
        raise InvalidInputError("A product needs a SKU.", code="commerce.missing_sku")
    product = session.scalar(select(Product).where(Product.sku == sku))
    created = product is None
    if product is None:
        product = Product(
            sku=sku,
            name=name or "",
            category=category or "",
            price=None if price is None else to_money(price),
            currency=currency or "GBP",
        )
        session.add(product)
    else:
        if name is not None:
            product.name = name
        if category is not None:
            product.category = category
        if price is not None:
            product.price = to_money(price)
        if currency is not None:
            product.currency = currency
    session.flush()
    record(
        session,
        actor=actor,
        action="product.create" if created else "product.update",
        object_type="product",
        object_id=product.id,
        summary=sku,
    )
    return product


def create_order(
    session: Session,
    *,
    external_id: str,
    ordered_at: datetime,
    lines: Sequence[LineInput],
    actor: Actor,
    customer_id: int | None = None,
    channel: str = "store",
    currency: str = "GBP",
    country: str | None = None,
) -> Order:
    """Create an order with its lines; a negative quantity on every line makes it a return.

    Raises
    ------
    ConflictError
        When an order with this external id exists.
    InvalidInputError
        When there are no lines, or the lines mix sales and returns.
    """
    if not lines:
        raise InvalidInputError("An order needs at least one line.", code="commerce.no_lines")
    if session.scalar(select(Order.id).where(Order.external_id == external_id)) is not None:
        raise ConflictError(
            f"An order with external id {external_id!r} already exists.",
            code="commerce.duplicate_order",
        )
    signs = {line.quantity > 0 for line in lines if line.quantity != 0}
    if len(signs) > 1:
        raise InvalidInputError(
            "An order cannot mix sold and returned lines; send the return as its own order.",
            code="commerce.mixed_order",
        )
    kind = OrderKind.RETURN if signs == {False} else OrderKind.SALE
    order = Order(
        external_id=external_id,
        customer_id=customer_id,
        ordered_at=ordered_at,
        channel=channel,
        currency=currency,
        country=country,
        kind=kind,
    )
    session.add(order)
    session.flush()
    total = Decimal("0")
    for line_no, line in enumerate(lines, start=1):
        product = session.scalar(select(Product).where(Product.sku == line.sku))
        if product is None:
            product = upsert_product(session, sku=line.sku, name=line.name, actor=actor)
        unit_price = to_money(line.unit_price)
        discount = to_money(line.discount)
        session.add(
            OrderLine(
                order_id=order.id,
                line_no=line_no,
                product_id=product.id,
                quantity=line.quantity,
                unit_price=unit_price,
                discount=discount,
            )
        )
        total += line.quantity * unit_price - discount
    order.total = to_money(total)
    session.flush()
    record(
        session,
        actor=actor,
        action="order.create",
        object_type="order",
        object_id=order.id,
        summary=f"{kind.value} {external_id}: {len(lines)} line(s), {order.total} {currency}",
    )
    return order
