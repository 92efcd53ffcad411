"""Writes for customers: create, update, identities, resolution, merge and undo, consent.

Every function takes the session first and a keyword ``actor``, flushes but never commits, and
writes an audit row: the delivery layer owns the transaction.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError, utcnow
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
from kehu.store import Base
from kehu.webhooks import emit

if TYPE_CHECKING:
    from kehu.customers.schemas import CustomerIn

#: Fields a caller may set on a customer.
EDITABLE_FIELDS = (
    "name",
    "kind",
    "email",
    "phone",
    "country",
    "city",
    "birthday",
    "notes",
    "external_id",
    "owner_id",
)

# When one incoming record's identities point at different customers, the strongest wins.
IDENTITY_PRIORITY = (
    IdentityKind.EXTERNAL_ID,
    IdentityKind.WECHAT_UNIONID,
    IdentityKind.EMAIL,
    IdentityKind.PHONE,
    IdentityKind.STORE_CARD,
    IdentityKind.APP_USER,
    IdentityKind.WECHAT_OPENID,
    IdentityKind.WEIBO_UID,
    IdentityKind.FORUM_HANDLE,
)


def _jsonable(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def get_customer(session: Session, customer_id: int) -> Customer:
    """Return the customer or raise :class:`NotFoundError`."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(
            f"There is no customer {customer_id}.", code=CustomerErrorCode.NOT_FOUND
        )
    return customer


def create_customer(
    session: Session,
    *,
    actor: Actor,
    identities: Iterable[tuple[str, str]] = (),
    **fields: Any,
) -> Customer:
    """Create a customer with optional identities ``[(kind, value), ...]``.

    Raises
    ------
    ConflictError
        When the external id or one of the identities already belongs to a customer.
    """
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInputError(
            f"Unknown customer field(s): {', '.join(sorted(unknown))}.",
            code="customers.unknown_field",
        )
    external_id = fields.get("external_id")
    if external_id and session.scalar(
        select(Customer.id).where(Customer.external_id == external_id)
    ):
        raise ConflictError(
            f"A customer with external id {external_id!r} already exists.",
            code=CustomerErrorCode.DUPLICATE_EXTERNAL_ID,
        )
    customer = Customer(**fields)
    if fields.get("kind"):
        customer.kind = CustomerKind(fields["kind"])
    session.add(customer)
    session.flush()
    for kind, value in identities:
        add_identity(session, customer, kind, value, actor=actor, audit=False)
    record(
        session,
        actor=actor,
        action="customer.create",
        object_type="customer",
        object_id=customer.id,
        summary=customer.name or f"customer {customer.id}",
        changes={k: _jsonable(v) for k, v in fields.items()},
    )
    emit(session, "customer.created", {"customer_id": customer.id, "external_id": external_id})
    return customer


def update_customer(
    session: Session, customer: Customer, *, actor: Actor, **fields: Any
) -> dict[str, tuple[object, object]]:
    """Change fields of a customer; return ``{field: (old, new)}`` for what really changed."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInputError(
            f"Unknown customer field(s): {', '.join(sorted(unknown))}.",
            code="customers.unknown_field",
        )
    changed: dict[str, tuple[object, object]] = {}
    for name, value in fields.items():
        old = getattr(customer, name)
        if old != value:
            setattr(customer, name, value)
            changed[name] = (old, value)
    if changed:
        session.flush()
        record(
            session,
            actor=actor,
            action="customer.update",
            object_type="customer",
            object_id=customer.id,
            summary=", ".join(changed),
            changes={k: [_jsonable(o), _jsonable(n)] for k, (o, n) in changed.items()},
        )
    return changed


def add_identity(
    session: Session,
    customer: Customer,
    kind: IdentityKind | str,
    value: str,
    *,
    actor: Actor,
    source: str = "",
    verified: bool = False,
    audit: bool = True,
) -> Identity:
    """Attach an identity to a customer (a no-op when it is already theirs).

    Raises
    ------
    ConflictError
        When the identity belongs to another customer: merge them instead.
    """
    kind, value = normalise_identity(kind, value)
    existing = session.scalar(
        select(Identity).where(Identity.kind == kind, Identity.value == value)
    )
    if existing is not None:
        if existing.customer_id != customer.id:
            raise ConflictError(
                f"The {kind.value} {value} already belongs to customer {existing.customer_id}; "
                "merge the two customers if they are the same person.",
                code=CustomerErrorCode.IDENTITY_TAKEN,
                details={"customer_id": existing.customer_id},
            )
        return existing
    from kehu.privacy import refuse_erased_identity  # here: kehu.privacy builds on customers

    refuse_erased_identity(session, kind.value, value)  # an erased person is not re-created
    identity = Identity(
        customer_id=customer.id, kind=kind, value=value, source=source, verified=verified
    )
    session.add(identity)
    if kind is IdentityKind.EMAIL and not customer.email:
        customer.email = value
    elif kind is IdentityKind.PHONE and not customer.phone:
        customer.phone = value
    session.flush()
    if audit:
        record(
            session,
            actor=actor,
            action="identity.add",
            object_type="customer",
            object_id=customer.id,
            summary=f"{kind.value} {value}",
        )
    return identity


@dataclass
class Resolution:
    """What :func:`resolve_customer` did for one incoming record."""

    customer: Customer
    created: bool
    matched_by: str | None = None
    # Identities that point at a different customer than the one chosen (likely duplicates).
    conflicts: list[dict[str, object]] = field(default_factory=list)


def resolve_customer(
    session: Session,
    identities: Iterable[tuple[str, str]],
    *,
    actor: Actor,
    source: str = "",
    defaults: Mapping[str, Any] | None = None,
) -> Resolution:
    """Find the customer these identities belong to, or create one; link the new identities.

    This is how one person arriving through two channels ends up as one customer: the second
    channel's record shares an e-mail or phone with the first, so it resolves to the same
    customer and adds its own handles (a WeChat openid, say) to that profile. When the
    identities point at two different customers, the strongest identity
    (:data:`IDENTITY_PRIORITY`) decides and the others are reported as conflicts; nothing is
    merged automatically.
    """
    normalised = [normalise_identity(kind, value) for kind, value in identities]
    if not normalised:
        raise InvalidInputError(
            "A customer record needs at least one identity.", code=CustomerErrorCode.BAD_IDENTITY
        )
    owners: dict[tuple[IdentityKind, str], int] = {}
    for kind, value in normalised:
        owner = session.scalar(
            select(Identity.customer_id).where(Identity.kind == kind, Identity.value == value)
        )
        if owner is not None:
            owners[(kind, value)] = owner
    if owners:
        ranked = sorted(owners, key=lambda key: IDENTITY_PRIORITY.index(key[0]))
        chosen_key = ranked[0]
        customer = get_customer(session, owners[chosen_key])
        while customer.merged_into_id is not None:  # follow merges to the surviving record
            customer = get_customer(session, customer.merged_into_id)
        conflicts: list[dict[str, object]] = [
            {"kind": k.value, "value": v, "customer_id": owners[(k, v)]}
            for (k, v) in ranked[1:]
            if owners[(k, v)] != customer.id
        ]
        for kind, value in normalised:
            if (kind, value) not in owners:
                add_identity(session, customer, kind, value, actor=actor, source=source)
        return Resolution(
            customer, created=False, matched_by=chosen_key[0].value, conflicts=conflicts
        )
    customer = create_customer(session, actor=actor, identities=normalised, **dict(defaults or {}))
    for identity in customer.identities:
        identity.source = source
    return Resolution(customer, created=True)


def add_contact(
    session: Session,
    *,
    account: Customer,
    person: Customer,
    role: ContactRole | str,
    actor: Actor,
    title: str = "",
    is_primary: bool = False,
) -> Contact:
    """Record that ``person`` acts for the organisation ``account`` in ``role``."""
    if account.kind != CustomerKind.ORGANISATION:
        raise InvalidInputError(
            f"Customer {account.id} is a person, not an organisation account.",
            code=CustomerErrorCode.NOT_AN_ACCOUNT,
        )
    try:
        role = ContactRole(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in ContactRole)
        raise InvalidInputError(
            f"Unknown contact role {role!r}; use one of {roles}.", code="customers.bad_role"
        ) from exc
    contact = session.scalar(
        select(Contact).where(
            Contact.account_id == account.id, Contact.person_id == person.id, Contact.role == role
        )
    )
    if contact is None:
        contact = Contact(
            account_id=account.id,
            person_id=person.id,
            role=role,
            title=title,
            is_primary=is_primary,
        )
        session.add(contact)
        session.flush()
        record(
            session,
            actor=actor,
            action="contact.add",
            object_type="customer",
            object_id=account.id,
            summary=f"{person.name or person.id} as {role.value}",
        )
    return contact


def record_consent(
    session: Session,
    customer: Customer,
    *,
    channel: str,
    purpose: str,
    status: ConsentStatus | str,
    actor: Actor,
    source: str = "",
    at: datetime | None = None,
) -> Consent:
    """Append a consent event; the newest one per channel and purpose is in force."""
    consent = Consent(
        customer_id=customer.id,
        channel=channel.strip().lower(),
        purpose=purpose.strip().lower(),
        status=ConsentStatus(status),
        source=source,
        at=at or utcnow(),
    )
    session.add(consent)
    session.flush()
    record(
        session,
        actor=actor,
        action=f"consent.{consent.status.value}",
        object_type="customer",
        object_id=customer.id,
        summary=f"{consent.channel}/{consent.purpose}",
    )
    return consent


def customer_reference_columns() -> list[Column[Any]]:
    """Return every column of every registered table that points at ``customers.id``.

    What a merge moves to the winner and what a person's data export reads
    (:func:`kehu.privacy.export_customer`), found from the foreign keys so that a new feature's
    table is covered without a change here. The merge's own bookkeeping is left out.
    """
    skip = {
        ("customers", "merged_into_id"),
        ("customer_merges", "winner_id"),
        ("customer_merges", "loser_id"),
    }
    columns: list[Column[Any]] = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if (table.name, column.name) in skip:
                continue
            if any(fk.column.table.name == "customers" for fk in column.foreign_keys):
                columns.append(column)
    return columns


def merge_customers(
    session: Session, *, winner_id: int, loser_id: int, actor: Actor
) -> CustomerMerge:
    """Merge customer ``loser_id`` into ``winner_id``, keeping all history.

    Every row of every feature that points at the loser (identities, orders, interactions,
    consent, contacts...) is moved to the winner, and the ids moved are kept so that
    :func:`undo_merge` can put them back. Blank fields of the winner are filled from the loser.
    The loser stays in the store, inactive, with ``merged_into_id`` set.
    """
    if winner_id == loser_id:
        raise InvalidInputError(
            "A customer cannot be merged into itself.", code=CustomerErrorCode.MERGE_SELF
        )
    winner = get_customer(session, winner_id)
    loser = get_customer(session, loser_id)
    for who in (winner, loser):
        if who.merged_into_id is not None:
            raise ConflictError(
                f"Customer {who.id} was already merged into {who.merged_into_id}.",
                code=CustomerErrorCode.ALREADY_MERGED,
            )
    moved: dict[str, Any] = {}
    kept: dict[str, list[int]] = {}
    for column in customer_reference_columns():
        table = column.table
        pk = table.primary_key.columns.values()[0]
        ids = list(session.scalars(select(pk).where(column == loser.id)))
        if not ids:
            continue
        key = f"{table.name}.{column.name}"
        try:
            with session.begin_nested():
                session.execute(update(table).where(pk.in_(ids)).values({column.name: winner.id}))
            moved[key] = ids
        except IntegrityError:
            # A unique key would be duplicated (the same contact role on both, say): move row by
            # row and leave the duplicates with the loser, where undo finds them unchanged.
            moved[key], kept[key] = [], []
            for row_id in ids:
                try:
                    with session.begin_nested():
                        session.execute(
                            update(table).where(pk == row_id).values({column.name: winner.id})
                        )
                    moved[key].append(row_id)
                except IntegrityError:
                    kept[key].append(row_id)
    filled = {}
    for name in ("email", "phone", "country", "city", "birthday", "owner_id"):
        if getattr(winner, name) in (None, "") and getattr(loser, name) not in (None, ""):
            filled[name] = _jsonable(getattr(loser, name))
            setattr(winner, name, getattr(loser, name))
    loser.merged_into_id = winner.id
    loser.is_active = False
    merge = CustomerMerge(
        winner_id=winner.id,
        loser_id=loser.id,
        merged_by=actor.label,
        moved={"rows": moved, "kept": kept, "filled": filled},
    )
    session.add(merge)
    session.flush()
    session.expire_all()  # the bulk UPDATEs bypassed the identity map
    n_rows = sum(len(v) for v in moved.values())
    record(
        session,
        actor=actor,
        action="customer.merge",
        object_type="customer",
        object_id=winner_id,
        summary=f"merged customer {loser_id} into {winner_id}",
        changes={
            "merge_id": merge.id,
            "loser_id": loser_id,
            "rows_moved": n_rows,
            "filled": filled,
        },
    )
    emit(session, "customer.merged", {"customer_id": winner_id, "merged_id": loser_id})
    return merge


def undo_merge(session: Session, merge_id: int, *, actor: Actor) -> CustomerMerge:
    """Undo a merge: the rows that moved go back to the old customer, who becomes active again.

    Rows created on the surviving customer after the merge stay where they are. A merge can be
    undone only while its winner has not itself been merged away (undo that merge first).
    """
    merge = session.get(CustomerMerge, merge_id)
    if merge is None:
        raise NotFoundError(
            f"There is no merge {merge_id}.", code=CustomerErrorCode.MERGE_NOT_FOUND
        )
    if merge.undone_at is not None:
        raise ConflictError(
            f"Merge {merge_id} was already undone on {merge.undone_at:%Y-%m-%d}.",
            code=CustomerErrorCode.MERGE_UNDONE,
        )
    winner = get_customer(session, merge.winner_id)
    if winner.merged_into_id is not None:
        raise ConflictError(
            f"Customer {winner.id} has since been merged into {winner.merged_into_id}; "
            "undo that merge first.",
            code=CustomerErrorCode.MERGE_SUPERSEDED,
        )
    tables = {table.name: table for table in Base.metadata.sorted_tables}
    for key, ids in merge.moved.get("rows", {}).items():
        table_name, column_name = key.split(".", 1)
        table = tables[table_name]
        pk = table.primary_key.columns.values()[0]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            session.execute(
                update(table)
                .where(pk.in_(chunk), table.c[column_name] == winner.id)
                .values({column_name: merge.loser_id})
            )
    for name in merge.moved.get("filled", {}):
        setattr(winner, name, None)
    loser = get_customer(session, merge.loser_id)
    loser.merged_into_id = None
    loser.is_active = True
    merge.undone_at = utcnow()
    merge.undone_by = actor.label
    session.flush()
    session.expire_all()  # the bulk UPDATEs bypassed the identity map
    record(
        session,
        actor=actor,
        action="customer.unmerge",
        object_type="customer",
        object_id=merge.winner_id,
        summary=f"undid merge {merge_id}: customer {merge.loser_id} restored",
        changes={"merge_id": merge_id},
    )
    return merge


@dataclass
class UpsertResult:
    """What :func:`upsert_customer` did with one record."""

    customer: Customer
    status: str  # created | updated | unchanged
    changed: list[str] = field(default_factory=list)
    conflicts: list[dict[str, object]] = field(default_factory=list)


def upsert_customer(
    session: Session, record: "CustomerIn", *, actor: Actor, source: str = ""
) -> UpsertResult:
    """Create or update one customer from a record, matching on external id, then identities.

    Re-sending the same record changes nothing (status ``unchanged``), which makes imports and
    batch API calls safe to repeat.

    Raises
    ------
    InvalidInputError
        When the record has neither an external id nor any identity, or an identity is malformed.
    """
    identities: list[tuple[str, str]] = [(i.kind.value, i.value) for i in record.identities]
    if record.email:
        identities.append((IdentityKind.EMAIL.value, record.email))
    if record.phone:
        identities.append((IdentityKind.PHONE.value, record.phone))
    if record.external_id:
        identities.append((IdentityKind.EXTERNAL_ID.value, record.external_id))
    if not identities:
        raise InvalidInputError(
            "A customer record needs an external_id, an e-mail, a phone or another identity "
            "to be recognised again later.",
            code=CustomerErrorCode.BAD_IDENTITY,
        )
    normalised = [normalise_identity(kind, value) for kind, value in identities]
    fields = record.model_dump(exclude={"identities", "email", "phone"}, exclude_none=True)
    if record.email:
        fields["email"] = dict(normalised)[IdentityKind.EMAIL]
    if record.phone:
        fields["phone"] = dict(normalised)[IdentityKind.PHONE]
    existing = None
    if record.external_id:
        existing = session.scalar(
            select(Customer).where(Customer.external_id == record.external_id)
        )
    if existing is None:
        resolution = resolve_customer(
            session, normalised, actor=actor, source=source, defaults=fields
        )
        if resolution.created:
            return UpsertResult(resolution.customer, "created")
        customer, conflicts = resolution.customer, resolution.conflicts
    else:
        customer, conflicts = existing, []
        for kind, value in normalised:
            try:
                add_identity(session, customer, kind, value, actor=actor, source=source)
            except ConflictError as exc:
                conflicts.append(
                    {
                        "kind": kind.value,
                        "value": value,
                        "customer_id": (exc.details or {}).get("customer_id"),
                    }
                )
    if (
        customer.external_id
        and "external_id" in fields
        and fields["external_id"] != customer.external_id
    ):
        fields.pop("external_id")  # a customer keeps the external id it was first known by
    changed = update_customer(session, customer, actor=actor, **fields)
    return UpsertResult(customer, "updated" if changed else "unchanged", sorted(changed), conflicts)
