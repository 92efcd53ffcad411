"""Record-level access: the one place the API looks up a customer on a caller's behalf.

Today every authenticated role may see every customer. When owners are limited to their own
customers, the check goes here (and into :func:`customer_filter_for`), and every route that
reads or changes a customer follows.
"""

from sqlalchemy.orm import Session

from kehu.core import InvalidInputError, NotFoundError
from kehu.customers import Customer, CustomerFilter, get_customer
from kehu.users import User


def access_customer_by_id(session: Session, user: User, customer_id: int) -> Customer:
    """Return the customer ``user`` may see, or raise :class:`kehu.core.NotFoundError`."""
    del user  # scoping by owner comes later; the parameter keeps every call site ready for it
    return get_customer(session, customer_id)


def customer_reference(session: Session, user: User, customer_id: int, *, field: str) -> Customer:
    """Return the customer a request body refers to; an unknown one is a 422, not a 404."""
    try:
        return access_customer_by_id(session, user, customer_id)
    except NotFoundError as exc:
        raise InvalidInputError(
            f"{field}: there is no customer {customer_id}.", code="customers.not_found"
        ) from exc


def customer_filter_for(user: User, filters: CustomerFilter) -> CustomerFilter:
    """Return ``filters`` narrowed to what ``user`` may see (today: unchanged)."""
    del user
    return filters


__all__ = ["access_customer_by_id", "customer_filter_for", "customer_reference"]
