"""Erasure (PIPL art. 47, GDPR art. 17): blank a person, keep the business's accounts.

The customer row stays (orders, tickets and events keep pointing at it, so sales figures
do not change) but becomes an anonymous "erased customer": personal fields blanked, its
identities and contact roles deleted, texts the person wrote blanked, scores deleted. Each
erased identity leaves a tombstone -- an HMAC of it keyed with the secret key -- so that the
same e-mail, phone or external id arriving later is refused instead of silently re-creating
the person.
"""

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from kehu.audit import AuditEntry, record
from kehu.core import Actor, ConflictError, InvalidInputError, get_settings
from kehu.customers import (
    Contact,
    Customer,
    CustomerIn,
    Identity,
    IdentityKind,
    get_customer,
    normalise_identity,
)
from kehu.engagement import Interaction
from kehu.health import CustomerHealth
from kehu.privacy.errors import PrivacyErrorCode
from kehu.privacy.models import ErasureTombstone
from kehu.service import AuthorKind, Ticket, TicketMessage
from kehu.value import CustomerValue
from kehu.voice import Post

#: The name an erased customer keeps.
ERASED_NAME = "(erased)"


class ErasureResult(BaseModel):
    """What an erasure changed, in counts (never the erased data)."""

    customer_id: int
    erased_customer_ids: list[int]
    tombstones: int
    rows: dict[str, int]


def identity_digest(kind: str, value: str) -> str:
    """Return the tombstone digest of one normalised identity (HMAC-SHA256, secret key)."""
    key = get_settings().secret_key.encode("utf-8")
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _normalised(pairs: Iterable[tuple[str, str | None]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for kind, value in pairs:
        if not value or not value.strip():
            continue
        try:
            norm_kind, norm_value = normalise_identity(kind, value)
        except InvalidInputError:
            continue  # not a valid identity: nothing could be resolved by it either
        found.add((norm_kind.value, norm_value))
    return found


def erased_identity(session: Session, pairs: Iterable[tuple[str, str | None]]) -> str | None:
    """Return the kind of the first of ``pairs`` that belongs to an erased person, else None."""
    wanted = {identity_digest(kind, value): kind for kind, value in _normalised(pairs)}
    if not wanted:
        return None
    hit = session.scalar(
        select(ErasureTombstone.digest).where(ErasureTombstone.digest.in_(wanted)).limit(1)
    )
    return None if hit is None else wanted[hit]


def refuse_erased_identity(session: Session, kind: str, value: str) -> None:
    """Raise :class:`kehu.core.ConflictError` when ``kind``/``value`` was erased on request."""
    found = erased_identity(session, [(kind, value)])
    if found is not None:
        raise ConflictError(
            f"This {found.replace('_', ' ')} belongs to a person whose data was erased on "
            "their request; it cannot be stored again unless they give it to you anew "
            "(ask an administrator to lift the erasure block).",
            code=PrivacyErrorCode.ERASED,
        )


def refuse_erased_record(session: Session, record_in: CustomerIn) -> None:
    """Refuse a customer record any of whose identities was erased (the import's check)."""
    pairs: list[tuple[str, str | None]] = [(i.kind.value, i.value) for i in record_in.identities]
    pairs += [
        (IdentityKind.EMAIL.value, record_in.email),
        (IdentityKind.PHONE.value, record_in.phone),
        (IdentityKind.EXTERNAL_ID.value, record_in.external_id),
    ]
    found = erased_identity(session, pairs)
    if found is not None:
        raise ConflictError(
            f"The row's {found.replace('_', ' ')} belongs to a person whose data was erased on "
            "their request; the row was not imported.",
            code=PrivacyErrorCode.ERASED,
        )


def _merged_into(session: Session, customer_id: int) -> list[int]:
    """Return ``customer_id`` and every customer merged into it, directly or not."""
    ids, frontier = [customer_id], [customer_id]
    while frontier:
        frontier = list(
            session.scalars(select(Customer.id).where(Customer.merged_into_id.in_(frontier)))
        )
        ids.extend(i for i in frontier if i not in ids)
    return ids


def erase_customer(session: Session, customer_id: int, *, actor: Actor) -> ErasureResult:
    """Erase customer ``customer_id`` (and the records merged into it); see the module doc.

    Raises :class:`kehu.core.NotFoundError` for an unknown customer and
    :class:`kehu.core.ConflictError` for one merged into another (erase the survivor).
    """
    customer = get_customer(session, customer_id)
    if customer.merged_into_id is not None:
        raise ConflictError(
            f"Customer {customer.id} was merged into {customer.merged_into_id}; erase "
            f"customer {customer.merged_into_id} instead.",
            code=PrivacyErrorCode.MERGED,
        )
    ids = _merged_into(session, customer.id)
    people = list(session.scalars(select(Customer).where(Customer.id.in_(ids))))
    pairs: list[tuple[str, str | None]] = [
        (kind, value)
        for kind, value in session.execute(
            select(Identity.kind, Identity.value).where(Identity.customer_id.in_(ids))
        )
    ]
    for person in people:
        pairs += [
            (IdentityKind.EMAIL.value, person.email),
            (IdentityKind.PHONE.value, person.phone),
            (IdentityKind.EXTERNAL_ID.value, person.external_id),
        ]
    digests = {identity_digest(kind, value) for kind, value in _normalised(pairs)}
    known = set(
        session.scalars(select(ErasureTombstone.digest).where(ErasureTombstone.digest.in_(digests)))
    )
    session.add_all(ErasureTombstone(digest=d) for d in sorted(digests - known))

    rows: dict[str, int] = {}

    def count(name: str, result: Any) -> None:
        rows[name] = rows.get(name, 0) + int(result.rowcount or 0)

    count("identities", session.execute(delete(Identity).where(Identity.customer_id.in_(ids))))
    count(
        "contacts",
        session.execute(
            delete(Contact).where(or_(Contact.person_id.in_(ids), Contact.account_id.in_(ids)))
        ),
    )
    count(
        "customer_values",
        session.execute(delete(CustomerValue).where(CustomerValue.customer_id.in_(ids))),
    )
    count(
        "customer_health",
        session.execute(delete(CustomerHealth).where(CustomerHealth.customer_id.in_(ids))),
    )
    count(
        "interactions",
        session.execute(
            update(Interaction).where(Interaction.customer_id.in_(ids)).values(subject="", text="")
        ),
    )
    tickets = select(Ticket.id).where(Ticket.customer_id.in_(ids)).scalar_subquery()
    count(
        "service_messages",
        session.execute(
            update(TicketMessage)
            .where(TicketMessage.ticket_id.in_(tickets))
            .where(TicketMessage.author_kind == AuthorKind.CUSTOMER)
            .values(body="", attachments=[])
        ),
    )
    count(
        "service_tickets",
        session.execute(
            update(Ticket).where(Ticket.customer_id.in_(ids)).values(subject="", requester="")
        ),
    )
    count(
        "voice_posts",
        session.execute(
            update(Post)
            .where(Post.customer_id.in_(ids))
            .values(text="", author_handle=ERASED_NAME, author_id=None, url="")
        ),
    )
    # Earlier audit entries about these customers may quote their data: keep the fact, not it.
    count(
        "audit_entries",
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.object_type == "customer")
            .where(AuditEntry.object_id.in_([str(i) for i in ids]))
            .values(summary="(redacted: the customer's data was erased)", changes=None)
        ),
    )
    for person in people:
        person.name = ERASED_NAME
        person.email = person.phone = person.country = person.city = None
        person.external_id = None
        person.birthday = None
        person.notes = ""
        person.is_active = False
    rows["customers"] = len(people)
    session.flush()
    session.expire_all()  # the bulk statements bypassed the identity map
    result = ErasureResult(
        customer_id=customer_id,
        erased_customer_ids=ids,
        tombstones=len(digests - known),
        rows={name: n for name, n in rows.items() if n},
    )
    record(
        session,
        actor=actor,
        action="customer.erase",
        object_type="customer",
        object_id=customer_id,
        summary=f"erased the personal data of customer {customer_id}",
        changes={"erased_customer_ids": ids, "tombstones": result.tombstones, "rows": result.rows},
    )
    return result
