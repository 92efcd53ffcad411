"""Single-record lookups on a caller's behalf: out of scope is a 404, as if absent.

The API and the console both use these; the rules are in
:mod:`kehu.access.scope`.
"""

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu import commerce, relations, service
from kehu.access import scope as access
from kehu.core import InvalidInputError, NotFoundError
from kehu.customers import (
    Customer,
    CustomerErrorCode,
    CustomerFilter,
    CustomerMerge,
    IdentityKind,
    find_customer_by_identity,
    get_customer,
    list_customers,
)
from kehu.users import Role, User


def _no_customer(customer_id: int) -> NotFoundError:
    return NotFoundError(f"There is no customer {customer_id}.", code=CustomerErrorCode.NOT_FOUND)


def access_customer_by_id(session: Session, user: User, customer_id: int) -> Customer:
    """Return the customer ``user`` may see, or raise :class:`kehu.core.NotFoundError`."""
    if not access.is_customer_visible(session, user, customer_id):
        raise _no_customer(customer_id)
    return get_customer(session, customer_id)


def customer_reference(session: Session, user: User, customer_id: int, *, field: str) -> Customer:
    """Return the customer a request body refers to; an unknown one is a 422, not a 404."""
    try:
        return access_customer_by_id(session, user, customer_id)
    except NotFoundError as exc:
        raise InvalidInputError(
            f"{field}: there is no customer {customer_id}.", code="customers.not_found"
        ) from exc


def customer_references(
    session: Session, user: User, customer_ids: list[int], *, field: str
) -> None:
    """Refuse (422, all of them listed) customers a request body names that ``user`` may not see.

    Unknown customers are left to the operation, which reports them its own way.
    """
    hidden = access.invisible_customers(session, user, customer_ids)
    if hidden:
        known = set(session.scalars(select(Customer.id).where(Customer.id.in_(hidden))))
        hidden = [i for i in hidden if i in known]
    if hidden:
        raise InvalidInputError(
            f"{field}: there is no customer {', '.join(map(str, hidden[:20]))}.",
            code="customers.not_found",
        )


def hide_customers(session: Session, user: User, items: list[Any]) -> list[Any]:
    """Blank the customer on public posts and alerts whose customer ``user`` may not see.

    Posts are public; who their author is in our books is not (one query for the whole list).
    """
    posts = [getattr(i, "post", None) for i in items]
    ids = [i.customer_id for i in items if i.customer_id is not None]
    ids += [p.customer_id for p in posts if p is not None and p.customer_id is not None]
    hidden = set(access.invisible_customers(session, user, ids))
    if not hidden:
        return items
    for item, post in zip(items, posts, strict=True):
        if item.customer_id in hidden:
            item.customer_id = None
            if hasattr(item, "customer"):
                item.customer = None
        if post is not None and post.customer_id in hidden:
            post.customer_id = None
    return items


def customer_filter_for(user: User, filters: CustomerFilter) -> CustomerFilter:
    """Return ``filters`` narrowed to what ``user`` may see."""
    return replace(filters, scope=access.customer_scope(user))


def find_customers_to_link(
    session: Session, user: User, query: str, *, limit: int = 10
) -> list[Customer]:
    """Return the customers ``user`` may link a ticket's unknown sender to, for ``query``.

    Administrators search every customer. Everyone else searches the customers they may see,
    plus the one customer whose e-mail or phone is exactly ``query`` (the sender's identity);
    agents get only that exact match: linking must work without browsing all customers.
    """
    text = query.strip()
    if not text:
        return []
    found: list[Customer] = []
    if Role(user.role) is not Role.AGENT:
        filters = customer_filter_for(user, CustomerFilter(q=text))
        found = list(list_customers(session, filters, limit=limit)[0])
    kind = IdentityKind.EMAIL if "@" in text else IdentityKind.PHONE
    try:
        exact = find_customer_by_identity(session, kind, text)
    except InvalidInputError:
        exact = None
    if exact is not None and all(c.id != exact.id for c in found):
        found.insert(0, exact)
    return found[:limit]


def access_merge_by_id(session: Session, user: User, merge_id: int) -> CustomerMerge:
    """Return the merge whose surviving customer ``user`` may see, or raise a 404."""
    merge = session.get(CustomerMerge, merge_id)
    if merge is None or not access.is_customer_visible(session, user, merge.winner_id):
        raise NotFoundError(
            f"There is no merge {merge_id}.", code=CustomerErrorCode.MERGE_NOT_FOUND
        )
    return merge


def access_order_by_id(session: Session, user: User, order_id: int) -> commerce.Order:
    """Return the order (with lines) ``user`` may see: its customer's rule; else a 404."""
    order = commerce.get_order(session, order_id)
    visible = access.customer_scope(user) is None or (
        order.customer_id is not None
        and access.is_customer_visible(session, user, order.customer_id)
    )
    if not visible:
        raise NotFoundError(f"There is no order {order_id}.", code="commerce.order_not_found")
    return order


def access_gift_by_id(session: Session, user: User, gift_id: int) -> relations.SurpriseGift:
    """Return the planned surprise ``user`` may see (its customer's rule), or raise a 404."""
    gift = relations.get_gift(session, gift_id)
    if not access.is_customer_visible(session, user, gift.customer_id):
        raise NotFoundError(
            f"There is no planned surprise {gift_id}.",
            code=relations.RelationsErrorCode.GIFT_NOT_FOUND,
        )
    return gift


def access_referral_by_id(session: Session, user: User, referral_id: int) -> relations.Referral:
    """Return the referral ``user`` may see (both customers visible), or raise a 404."""
    referral = session.get(relations.Referral, referral_id)
    if referral is None or not (
        access.is_customer_visible(session, user, referral.referrer_id)
        and access.is_customer_visible(session, user, referral.referred_id)
    ):
        raise NotFoundError(
            f"There is no referral {referral_id}.",
            code=relations.RelationsErrorCode.REFERRAL_NOT_FOUND,
        )
    return referral


def access_ticket_by_id(session: Session, user: User, ticket_id: int) -> service.Ticket:
    """Return the ticket ``user`` may see, or raise :class:`kehu.core.NotFoundError`."""
    if not access.is_ticket_visible(session, user, ticket_id):
        raise NotFoundError(
            f"There is no ticket {ticket_id}.", code=service.ServiceErrorCode.TICKET_NOT_FOUND
        )
    return service.get_ticket(session, ticket_id)


def access_task_by_id(session: Session, user: User, task_id: int) -> relations.Task:
    """Return the task ``user`` may see, or raise :class:`kehu.core.NotFoundError`."""
    if not access.is_task_visible(session, user, task_id):
        raise NotFoundError(
            f"There is no task {task_id}.", code=relations.RelationsErrorCode.TASK_NOT_FOUND
        )
    return relations.get_task(session, task_id)


def check_assignee(session: Session, user: User, assignee_id: int | None, *, field: str) -> None:
    """Refuse (422) handing work to someone outside ``user``'s team."""
    if assignee_id is not None and not access.can_assign_to(session, user, assignee_id):
        raise InvalidInputError(
            f"{field}: you may hand work only to members of your team.",
            code="access.outside_team",
        )


__all__ = [
    "access_customer_by_id",
    "access_gift_by_id",
    "access_merge_by_id",
    "access_order_by_id",
    "access_referral_by_id",
    "access_task_by_id",
    "access_ticket_by_id",
    "check_assignee",
    "customer_filter_for",
    "customer_reference",
    "customer_references",
    "find_customers_to_link",
    "hide_customers",
]
