"""SQL predicates for the records a user may see (the matrix in docs/access.md).

``None`` means "no restriction" (administrators). Nothing here runs a query except the
``is_*_visible`` / ``can_assign_to`` checks, which run one indexed ``SELECT`` each, and only
for roles that are restricted.
"""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, or_, select, true, union
from sqlalchemy.orm import Session, aliased

from kehu.audit import AuditEntry
from kehu.customers import Contact, Customer
from kehu.relations import Referral, Task
from kehu.service import Ticket
from kehu.users import Role, User


def team_ids(user: User) -> Select[int]:
    """Return a ``SELECT`` of the ids of ``user``'s team: the active users of their department.

    A user without a department is a team of one.
    """
    if user.department_id is None:
        return select(User.id).where(User.id == user.id)
    return select(User.id).where(User.department_id == user.department_id, User.is_active.is_(True))


def audit_scope(user: User) -> ColumnElement[bool] | None:
    """Return the predicate on ``audit_entries`` for the entries ``user`` may read.

    Administrators read the whole trail. A manager reads what their team did: the entries whose
    actor is a member of the team. A team member acts only on records in the team's scope, so
    the entries name no customer the manager may not see (docs/access.md).
    """
    if Role(user.role) is Role.ADMIN:
        return None
    return AuditEntry.actor_user_id.in_(team_ids(user))


def ticket_scope(user: User) -> ColumnElement[bool] | None:
    """Return the predicate on ``service_tickets`` for the tickets ``user`` may see."""
    role = Role(user.role)
    if role is Role.ADMIN:
        return None
    # Managers and agents also see the triage queue: tickets routed to no department yet.
    if role is Role.MANAGER:
        conditions: list[ColumnElement[bool]] = [
            Ticket.assignee_id.in_(team_ids(user)),
            Ticket.department_id.is_(None),
        ]
        if user.department_id is not None:
            conditions.append(Ticket.department_id == user.department_id)
        return or_(*conditions)
    if role is Role.AGENT:
        conditions = [Ticket.assignee_id == user.id, Ticket.department_id.is_(None)]
        if user.department_id is not None:
            conditions.append(Ticket.department_id == user.department_id)
        return or_(*conditions)
    # Owners: the tickets of their customers.
    return Ticket.customer_id.in_(_owned_ids(user))


def _contact_ids(user: User) -> Select[int]:
    """Return a ``SELECT`` of the people who act for the B2B accounts ``user`` owns."""
    account = aliased(Customer)
    return (
        select(Contact.person_id)
        .join(account, account.id == Contact.account_id)
        .where(account.owner_id == user.id)
    )


def _owned_ids(user: User) -> CompoundSelect[int]:
    """Return a ``SELECT`` of an owner's customer ids: owned ones and their accounts' contacts.

    A ``UNION`` of two index-only scans (``customers (owner_id, id)``, migration 0014, and
    ``contacts (account_id, person_id)``) for the tickets: ``IN (customers WHERE owner_id = …
    OR …)`` reads every customer to find the owner's few thousand.
    """
    owned = aliased(Customer)
    return union(select(owned.id).where(owned.owner_id == user.id), _contact_ids(user))


def _has_visible_ticket(user: User) -> ColumnElement[bool]:
    """Return ``EXISTS`` a ticket ``user`` sees on the customer (correlated to ``customers``).

    Correlated rather than ``customers.id IN (all the tickets' customers)``: beside an ``OR``
    the ``IN`` cannot become a join, and PostgreSQL hashes every visible ticket (a department's
    whole history) or, when that outgrows ``work_mem``, rescans them for every customer.
    ``EXISTS`` lets it probe ``service_tickets.customer_id`` for the few rows a page reads.
    """
    tickets = ticket_scope(user)
    return (
        select(Ticket.id)
        .where(Ticket.customer_id == Customer.id, tickets if tickets is not None else true())
        .exists()
    )


def customer_scope(user: User) -> ColumnElement[bool] | None:
    """Return the predicate on ``customers`` for the customers ``user`` may see."""
    role = Role(user.role)
    if role is Role.ADMIN:
        return None
    if role is Role.OWNER:  # an OR, not _owned_ids: lists walk customers in their own order
        return or_(Customer.owner_id == user.id, Customer.id.in_(_contact_ids(user)))
    if role is Role.MANAGER:  # the cheapest test first: most customers are in the pool
        return or_(
            Customer.owner_id.is_(None),
            Customer.owner_id.in_(team_ids(user)),
            _has_visible_ticket(user),
        )
    return _has_visible_ticket(user)  # agents


def customer_ids_for(user: User) -> Select[int] | None:
    """Return a ``SELECT`` of the customer ids ``user`` may see (``None``: all of them)."""
    scope = customer_scope(user)
    if scope is None:
        return None
    return select(Customer.id).where(scope)


def record_scope(user: User, customer_column: Any) -> ColumnElement[bool] | None:
    """Return the predicate for a record that belongs to a customer through ``customer_column``.

    Orders, interactions, identities, consents, scores, health, gifts, the contact ledger…
    follow their customer. ``EXISTS`` (the record's customer, by primary key, in scope) rather
    than ``IN (every visible customer)``: beside an ``OR`` (tasks) PostgreSQL cannot hash a
    manager's hundreds of thousands of customers and would rescan them for every record. An
    owner's few thousand ids are cheaper hashed than probed customer by customer.
    """
    if Role(user.role) is Role.OWNER:  # a few thousand ids from two indexes: hashed once
        return customer_column.in_(_owned_ids(user))  # type: ignore[no-any-return]
    scope = customer_scope(user)
    if scope is None:
        return None
    return (
        select(Customer.id)
        .where(Customer.id == customer_column, scope)
        .correlate_except(Customer)
        .exists()
    )


def referral_scope(user: User) -> ColumnElement[bool] | None:
    """Return the predicate on referrals: both the referrer and the referred are visible."""
    ids = customer_ids_for(user)
    if ids is None:
        return None
    return Referral.referrer_id.in_(ids) & Referral.referred_id.in_(ids)


def task_scope(user: User) -> ColumnElement[bool] | None:
    """Return the predicate on ``relation_tasks`` for the tasks ``user`` may see."""
    role = Role(user.role)
    if role is Role.ADMIN:
        return None
    if role is Role.MANAGER:  # the team's tasks, and unowned ones on the team's customers
        visible = record_scope(user, Task.customer_id)
        unowned = Task.owner_id.is_(None) & (visible if visible is not None else true())
        return or_(Task.owner_id.in_(team_ids(user)), unowned)
    if role is Role.OWNER:
        visible = record_scope(user, Task.customer_id)
        return or_(Task.owner_id == user.id, visible if visible is not None else true())
    return Task.owner_id == user.id


def is_customer_visible(session: Session, user: User, customer_id: int) -> bool:
    """Return whether ``user`` may see customer ``customer_id`` (one query unless admin)."""
    scope = customer_scope(user)
    if scope is None:
        return True
    found = session.scalar(select(Customer.id).where(Customer.id == customer_id, scope))
    return found is not None


def invisible_customers(session: Session, user: User, customer_ids: Iterable[int]) -> list[int]:
    """Return those of ``customer_ids`` that ``user`` may not see (unknown ones included)."""
    wanted = sorted(set(customer_ids))
    scope = customer_scope(user)
    if scope is None or not wanted:
        return []
    seen: set[int] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        seen.update(session.scalars(select(Customer.id).where(Customer.id.in_(chunk), scope)))
    return [i for i in wanted if i not in seen]


def is_ticket_visible(session: Session, user: User, ticket_id: int) -> bool:
    """Return whether ``user`` may see ticket ``ticket_id`` (one query unless admin)."""
    scope = ticket_scope(user)
    if scope is None:
        return True
    found = session.scalar(select(Ticket.id).where(Ticket.id == ticket_id, scope))
    return found is not None


def is_task_visible(session: Session, user: User, task_id: int) -> bool:
    """Return whether ``user`` may see task ``task_id`` (one query unless admin)."""
    scope = task_scope(user)
    if scope is None:
        return True
    return session.scalar(select(Task.id).where(Task.id == task_id, scope)) is not None


def can_assign_to(session: Session, user: User, assignee_id: int) -> bool:
    """Return whether ``user`` may hand work to ``assignee_id``.

    Administrators: anyone; managers: their team; others: only themselves.
    """
    role = Role(user.role)
    if role is Role.ADMIN or assignee_id == user.id:
        return True
    if role is Role.MANAGER:
        found = session.scalar(team_ids(user).where(User.id == assignee_id))
        return found is not None
    return False


__all__ = [
    "can_assign_to",
    "customer_ids_for",
    "customer_scope",
    "invisible_customers",
    "is_customer_visible",
    "is_task_visible",
    "is_ticket_visible",
    "record_scope",
    "referral_scope",
    "task_scope",
    "team_ids",
    "ticket_scope",
]
