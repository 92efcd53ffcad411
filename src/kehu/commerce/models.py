"""Products, orders and order lines (returns are lines with negative quantity)."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kehu.store import Base, IdPK, TimestampMixin

Amount = Numeric(14, 2)


class OrderKind(StrEnum):
    """A sale, or a return / cancellation of earlier goods."""

    SALE = "sale"
    RETURN = "return"


class Product(TimestampMixin, Base):
    """Something the business sells."""

    __tablename__ = "products"

    id: Mapped[IdPK]
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    category: Mapped[str] = mapped_column(String(200), default="")
    price: Mapped[Decimal | None] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    is_durable: Mapped[bool] = mapped_column(default=False)
    in_stock: Mapped[bool] = mapped_column(default=True)


class Order(TimestampMixin, Base):
    """An order (or a return) placed by a customer, or by an unknown guest."""

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_customer_ordered", "customer_id", "ordered_at"),)

    id: Mapped[IdPK]
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[OrderKind] = mapped_column(String(16), default=OrderKind.SALE)
    ordered_at: Mapped[datetime] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(32), default="store")
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    country: Mapped[str | None] = mapped_column(String(100))
    total: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0"))

    lines: Mapped[list["OrderLine"]] = relationship(order_by="OrderLine.line_no")


class OrderLine(Base):
    """One product on an order; negative quantity means goods returned."""

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[IdPK]
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Amount)
    discount: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0"))

    product: Mapped[Product] = relationship(lazy="joined")
