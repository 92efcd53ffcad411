"""Commerce: products, orders and order lines (returns included)."""

from kehu.commerce.models import Order, OrderKind, OrderLine, Product
from kehu.commerce.operations import LineInput, create_order, upsert_product
from kehu.commerce.queries import (
    CustomerOrderStats,
    count_order_lines,
    customer_order_stats,
    find_product_by_sku,
    get_order,
    list_orders,
    orders_per_month,
)
from kehu.commerce.totals import OrderTotals, order_totals

__all__ = [
    "CustomerOrderStats",
    "LineInput",
    "Order",
    "OrderKind",
    "OrderLine",
    "OrderTotals",
    "Product",
    "count_order_lines",
    "create_order",
    "customer_order_stats",
    "find_product_by_sku",
    "get_order",
    "list_orders",
    "order_totals",
    "orders_per_month",
    "upsert_product",
]

# Bulk writes for imports (kehu.ingest).
from kehu.commerce.bulk import BulkOrder, BulkOrders, ensure_products, load_orders

__all__ += ["BulkOrder", "BulkOrders", "ensure_products", "load_orders"]
