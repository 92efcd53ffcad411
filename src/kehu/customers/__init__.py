"""Customers: people and organisation accounts, identities, contacts, consent, merges."""

from kehu.customers.errors import CustomerErrorCode
from kehu.customers.identities import normalise_identity
from kehu.customers.models import (
    Consent,
    ConsentStatus,
    Contact,
    ContactRole,
    Customer,
    CustomerKind,
    CustomerMerge,
    Identity,
    IdentityKind,
)
from kehu.customers.operations import (
    EDITABLE_FIELDS,
    Resolution,
    UpsertResult,
    add_contact,
    add_identity,
    create_customer,
    customer_reference_columns,
    get_customer,
    merge_customers,
    record_consent,
    resolve_customer,
    undo_merge,
    update_customer,
    upsert_customer,
)
from kehu.customers.queries import (
    CustomerFilter,
    current_consents,
    find_customer_by_external_id,
    find_customer_by_identity,
    has_consent,
    list_consent_history,
    list_contacts,
    list_customers,
    list_identities,
    list_merges,
)
from kehu.customers.schemas import CustomerIn, CustomerUpdate, IdentityIn

__all__ = [
    "EDITABLE_FIELDS",
    "Consent",
    "ConsentStatus",
    "Contact",
    "ContactRole",
    "Customer",
    "CustomerErrorCode",
    "CustomerFilter",
    "CustomerIn",
    "CustomerKind",
    "CustomerMerge",
    "CustomerUpdate",
    "Identity",
    "IdentityIn",
    "IdentityKind",
    "Resolution",
    "UpsertResult",
    "add_contact",
    "add_identity",
    "create_customer",
    "current_consents",
    "customer_reference_columns",
    "find_customer_by_external_id",
    "find_customer_by_identity",
    "get_customer",
    "has_consent",
    "list_consent_history",
    "list_contacts",
    "list_customers",
    "list_identities",
    "list_merges",
    "merge_customers",
    "normalise_identity",
    "record_consent",
    "resolve_customer",
    "undo_merge",
    "update_customer",
    "upsert_customer",
]

# Bulk writes for imports (kehu.ingest).
from kehu.customers.bulk import ensure_customers, find_customer_ids

__all__ += ["ensure_customers", "find_customer_ids"]
