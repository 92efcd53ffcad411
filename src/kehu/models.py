"""Every table of every feature, imported in one place for Alembic and for tests.

The store package must not import features (ARCHITECTURE.md), so the migration environment
imports this module instead.
"""

from kehu.audit.models import AuditEntry
from kehu.commerce.models import Order, OrderLine, Product
from kehu.customers.models import Consent, Contact, Customer, CustomerMerge, Identity
from kehu.engagement.models import Interaction
from kehu.ingest.models import ImportMapping, ImportRun
from kehu.store import Base
from kehu.users.models import ApiToken, Department, User
from kehu.value.models import CustomerValue, ValueRun

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Consent",
    "Contact",
    "Customer",
    "CustomerMerge",
    "CustomerValue",
    "Department",
    "Identity",
    "ImportMapping",
    "ImportRun",
    "Interaction",
    "Order",
    "OrderLine",
    "Product",
    "User",
    "ValueRun",
    "metadata",
]
