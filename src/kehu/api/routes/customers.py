"""Customers: search, create, the 360 view, edits, identities, consent, batch upsert, merges."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from kehu import commerce, customers, engagement
from kehu.access import (
    access_customer_by_id,
    access_merge_by_id,
    check_assignee,
    customer_filter_for,
)
from kehu.api.deps import Bulk, Editor, Reader, SessionDep, SettingsDep, api_actor
from kehu.api.errors import ApiRoute, describe_validation_errors
from kehu.api.schemas import (
    MAX_ID,
    BatchItemResult,
    BatchResult,
    ConsentIn,
    ConsentInForce,
    ConsentPublic,
    ContactPublic,
    Customer360,
    CustomerPublic,
    CustomersPublic,
    DbId,
    IdentityPublic,
    InteractionPublic,
    MergeIn,
    MergePublic,
    Money,
    MonthOrders,
    OrderPublic,
    OrderStats,
)
from kehu.core import InvalidInputError, KehuError
from kehu.customers import (
    CustomerFilter,
    CustomerIn,
    CustomerKind,
    CustomerUpdate,
    IdentityIn,
    IdentityKind,
)
from kehu.store import count_limit_under, is_count_exact
from kehu.users import get_user_by_id

router = APIRouter(tags=["customers"], route_class=ApiRoute)

MAX_BATCH = 1000
Limit = Annotated[int, Query(ge=1, le=100, description="Page size (at most 100).")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Rows to skip.")]


@router.get("/customers", response_model=CustomersPublic)
def read_customers(
    session: SessionDep,
    user: Reader,
    q: Annotated[str | None, Query(max_length=200, description="Name, e-mail, phone, id…")] = None,
    kind: CustomerKind | None = None,
    country: Annotated[str | None, Query(max_length=100)] = None,
    owner_id: DbId | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CustomersPublic:
    """Search customers (merged-away records excluded), by name then id."""
    filters = customer_filter_for(
        user, CustomerFilter(q=q, kind=kind, country=country, owner_id=owner_id)
    )
    bound = count_limit_under(filters.scope, offset, limit)
    rows, count = customers.list_customers(
        session, filters, limit=limit, offset=offset, count_limit=bound
    )
    return CustomersPublic(
        data=[CustomerPublic.model_validate(c) for c in rows],
        count=count,
        count_is_exact=is_count_exact(count, bound),
    )


def _identities_of(record: CustomerIn) -> list[tuple[str, str]]:
    identities = [(i.kind.value, i.value) for i in record.identities]
    if record.email:
        identities.append((IdentityKind.EMAIL.value, record.email))
    if record.phone:
        identities.append((IdentityKind.PHONE.value, record.phone))
    if record.external_id:
        identities.append((IdentityKind.EXTERNAL_ID.value, record.external_id))
    return identities


@router.post("/customers", response_model=CustomerPublic, status_code=201)
def create_customer(body: CustomerIn, session: SessionDep, user: Editor) -> CustomerPublic:
    """Create a customer; 409 when the external id or an identity already belongs to someone.

    ``email`` and ``phone`` are stored normalised and become identities, like ``identities``.
    """
    fields = body.model_dump(exclude={"identities", "email", "phone"}, exclude_none=True)
    if body.email:
        fields["email"] = customers.normalise_identity(IdentityKind.EMAIL, body.email)[1]
    if body.phone:
        fields["phone"] = customers.normalise_identity(IdentityKind.PHONE, body.phone)[1]
    customer = customers.create_customer(
        session, actor=api_actor(user), identities=_identities_of(body), **fields
    )
    return CustomerPublic.model_validate(customer)


@router.post("/customers/batch", response_model=BatchResult)
def upsert_customers(
    session: SessionDep,
    user: Bulk,
    body: Annotated[
        list[Any],
        Body(description=f"Up to {MAX_BATCH} customer records (CustomerIn), each upserted."),
    ],
) -> BatchResult:
    """Create or update up to 1000 customers, each on its own; report what happened to each.

    A record is matched on its external id, then its identities. A record that is invalid or
    fails is reported with its index and leaves nothing behind; the others are stored.
    Re-sending the same batch changes nothing (every record ``unchanged``).
    """
    if not body:
        raise InvalidInputError("The batch is empty; send a list of customer records.")
    if len(body) > MAX_BATCH:
        raise InvalidInputError(
            f"The batch has {len(body)} records; send at most {MAX_BATCH} per request.",
            code="customers.batch_too_large",
        )
    actor = api_actor(user)
    results = []
    for index, item in enumerate(body):
        try:
            record = CustomerIn.model_validate(item)
        except ValidationError as exc:
            errors = describe_validation_errors(exc.errors())
            results.append(BatchItemResult(index=index, status="error", errors=errors))
            continue
        try:
            with session.begin_nested():
                outcome = customers.upsert_customer(session, record, actor=actor, source="api")
        except KehuError as exc:
            error = {"field": "", "message": exc.message, "type": str(exc.code)}
            results.append(BatchItemResult(index=index, status="error", errors=[error]))
            continue
        except SQLAlchemyError:
            error = {
                "field": "",
                "message": "The record conflicts with stored data or holds a value the "
                "database refuses.",
                "type": "invalid_value",
            }
            results.append(BatchItemResult(index=index, status="error", errors=[error]))
            continue
        results.append(
            BatchItemResult(
                index=index,
                status=outcome.status,
                id=outcome.customer.id,
                changed=outcome.changed,
                conflicts=outcome.conflicts,
            )
        )
    counts = dict.fromkeys(("created", "updated", "unchanged", "error"), 0)
    for result in results:
        counts[result.status] += 1
    return BatchResult(results=results, counts=counts)


@router.get("/customers/{customer_id}", response_model=Customer360)
def read_customer(
    customer_id: DbId, session: SessionDep, settings: SettingsDep, user: Reader
) -> Customer360:
    """Return the 360 view of one customer.

    Profile, identities, contacts (organisations), consent in force and its history, order
    figures (revenue in the store's currency), orders per month, the latest 10 orders and
    interactions, and the merges the customer took part in.
    """
    customer = access_customer_by_id(session, user, customer_id)
    stats = commerce.customer_order_stats(session, customer.id)
    currency = settings.default_currency
    orders, _ = commerce.list_orders(session, customer_id=customer.id, limit=10)
    interactions, _ = engagement.list_interactions(session, customer_id=customer.id, limit=10)
    contacts = (
        customers.list_contacts(session, customer.id)
        if customer.kind == CustomerKind.ORGANISATION
        else []
    )
    in_force = customers.current_consents(session, customer.id)
    return Customer360(
        customer=CustomerPublic.model_validate(customer),
        identities=[
            IdentityPublic.model_validate(i)
            for i in customers.list_identities(session, customer.id)
        ],
        contacts=[ContactPublic.of(c) for c in contacts],
        consents=[
            ConsentInForce(channel=channel, purpose=purpose, status=status)
            for (channel, purpose), status in sorted(in_force.items())
        ],
        consent_history=[
            ConsentPublic.model_validate(c)
            for c in customers.list_consent_history(session, customer.id)
        ],
        order_stats=OrderStats(
            n_orders=stats.n_orders,
            n_returns=stats.n_returns,
            revenue=Money.of(stats.revenue, currency),
            first_order_at=stats.first_order_at,
            last_order_at=stats.last_order_at,
        ),
        orders_per_month=[
            MonthOrders(month=month, n_orders=n, revenue=Money.of(value, currency))
            for month, n, value in commerce.orders_per_month(session, customer.id)
        ],
        latest_orders=[OrderPublic.of(o) for o in orders],
        latest_interactions=[InteractionPublic.model_validate(i) for i in interactions],
        merges=[MergePublic.model_validate(m) for m in customers.list_merges(session, customer.id)],
    )


_NOT_NULL = ("kind", "name", "notes")


@router.patch("/customers/{customer_id}", response_model=CustomerPublic)
def update_customer(
    customer_id: DbId, body: CustomerUpdate, session: SessionDep, user: Editor
) -> CustomerPublic:
    """Change the fields sent (and only those)."""
    customer = access_customer_by_id(session, user, customer_id)
    fields = body.model_dump(exclude_unset=True)
    for name in _NOT_NULL:
        if name in fields and fields[name] is None:
            raise InvalidInputError(f"{name} cannot be null.", code="customers.null_field")
    owner_id = fields.get("owner_id")
    if owner_id is not None:
        if not 1 <= owner_id <= MAX_ID:
            raise InvalidInputError(f"owner_id: there is no user {owner_id}.")
        try:
            get_user_by_id(session, owner_id)
        except KehuError as exc:
            raise InvalidInputError(
                f"owner_id: there is no user {owner_id}.", code="users.not_found"
            ) from exc
        check_assignee(session, user, owner_id, field="owner_id")
    customers.update_customer(session, customer, actor=api_actor(user), **fields)
    return CustomerPublic.model_validate(customer)


@router.post("/customers/{customer_id}/identities", response_model=IdentityPublic, status_code=201)
def add_identity(
    customer_id: DbId, body: IdentityIn, session: SessionDep, user: Editor
) -> IdentityPublic:
    """Attach an identity; 409 when it belongs to another customer (merge them instead)."""
    customer = access_customer_by_id(session, user, customer_id)
    identity = customers.add_identity(
        session, customer, body.kind, body.value, actor=api_actor(user), source="api"
    )
    return IdentityPublic.model_validate(identity)


@router.post("/customers/{customer_id}/consents", response_model=ConsentPublic, status_code=201)
def record_consent(
    customer_id: DbId, body: ConsentIn, session: SessionDep, user: Editor
) -> ConsentPublic:
    """Record that the customer granted or withdrew a channel for a purpose."""
    customer = access_customer_by_id(session, user, customer_id)
    consent = customers.record_consent(
        session,
        customer,
        channel=body.channel,
        purpose=body.purpose,
        status=body.status,
        actor=api_actor(user),
        source=body.source or "api",
        at=body.at,
    )
    return ConsentPublic.model_validate(consent)


@router.post("/customers/{customer_id}/merge", response_model=MergePublic, status_code=201)
def merge_customer(
    customer_id: DbId, body: MergeIn, session: SessionDep, user: Bulk
) -> MergePublic:
    """Merge customer ``loser_id`` into this one, keeping all history (undo with the merge id)."""
    winner = access_customer_by_id(session, user, customer_id)
    loser = access_customer_by_id(session, user, body.loser_id)
    merge = customers.merge_customers(
        session, winner_id=winner.id, loser_id=loser.id, actor=api_actor(user)
    )
    return MergePublic.model_validate(merge)


@router.post("/merges/{merge_id}/undo", response_model=MergePublic)
def undo_merge(merge_id: DbId, session: SessionDep, user: Bulk) -> MergePublic:
    """Undo a merge: what moved goes back and the merged-away customer is active again."""
    access_merge_by_id(session, user, merge_id)
    merge = customers.undo_merge(session, merge_id, actor=api_actor(user))
    return MergePublic.model_validate(merge)
