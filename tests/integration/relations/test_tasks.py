"""Tasks: open idempotently by dedupe key, close, reassign, the per-owner dashboard."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kehu.audit.models import AuditEntry
from kehu.core import ConflictError, InvalidInputError, NotFoundError
from kehu.relations import (
    Task,
    TaskStatus,
    close_task,
    list_tasks,
    open_task,
    reassign_task,
    task_dashboard,
)
from kehu.users import Role
from tests.factories import ACTOR, make_customer, make_user

DUE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _open(session, customer_id, owner_id, key="neglect:1", evidence=None, due_at=DUE):
    return open_task(
        session,
        customer_id=customer_id,
        kind="neglect",
        title="Call them",
        owner_id=owner_id,
        due_at=due_at,
        evidence=evidence or {"days_since_touch": 41},
        dedupe_key=key,
        actor=ACTOR,
    )


def test_open_task_is_idempotent_while_open_and_refreshes_evidence(session):
    customer = make_customer(session)
    owner = make_user(session, Role.OWNER)

    first = _open(session, customer.id, owner.id)
    again = _open(session, customer.id, owner.id, evidence={"days_since_touch": 45})

    assert again.id == first.id
    assert again.evidence == {"days_since_touch": 45}
    assert session.scalar(select(func.count()).select_from(Task)) == 1
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_type == "task").order_by(AuditEntry.id)
    ).all()
    assert actions == ["task.open", "task.refresh"]


def test_a_closed_task_lets_the_same_key_open_a_new_one(session):
    customer = make_customer(session)
    first = _open(session, customer.id, None)

    close_task(session, first.id, actor=ACTOR, note="called, all fine")
    second = _open(session, customer.id, None)

    assert second.id != first.id
    assert first.status == TaskStatus.DONE
    assert first.note == "called, all fine"
    assert first.closed_at is not None


def test_closing_twice_conflicts_and_changes_nothing(session):
    customer = make_customer(session)
    task = _open(session, customer.id, None)
    close_task(session, task.id, actor=ACTOR, status="dismissed")

    with pytest.raises(ConflictError):
        close_task(session, task.id, actor=ACTOR)

    assert task.status == TaskStatus.DISMISSED


@pytest.mark.parametrize("status", ["open", "maybe"])
def test_close_refuses_a_status_that_does_not_close(session, status):
    customer = make_customer(session)
    task = _open(session, customer.id, None)

    with pytest.raises(InvalidInputError):
        close_task(session, task.id, actor=ACTOR, status=status)

    assert task.status == TaskStatus.OPEN


def test_open_task_refuses_unknown_customer_owner_and_empty_fields(session):
    customer = make_customer(session)

    with pytest.raises(NotFoundError):
        _open(session, 999_999, None)
    with pytest.raises(InvalidInputError, match="active user"):
        _open(session, customer.id, 999_999)
    with pytest.raises(InvalidInputError, match="dedupe key"):
        _open(session, customer.id, None, key=" ")
    with pytest.raises(InvalidInputError, match="time zone"):
        _open(session, customer.id, None, due_at=datetime(2026, 12, 1))  # noqa: DTZ001

    assert session.scalar(select(func.count()).select_from(Task)) == 0


def test_reassign_moves_the_task_and_is_audited(session):
    customer = make_customer(session)
    alice = make_user(session, Role.OWNER)
    bob = make_user(session, Role.OWNER)
    task = _open(session, customer.id, alice.id)

    reassign_task(session, task.id, owner_id=bob.id, due_at=DUE + timedelta(days=3), actor=ACTOR)

    assert task.owner_id == bob.id
    assert task.due_at == DUE + timedelta(days=3)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "task.reassign")).one()
    assert entry.changes is not None
    assert entry.changes["owner_id"] == [alice.id, bob.id]


def test_dashboard_counts_open_and_overdue_per_owner(session):
    customer = make_customer(session)
    alice = make_user(session, Role.OWNER, name="Alice")
    bob = make_user(session, Role.OWNER, name="Bob")
    now = DUE
    _open(session, customer.id, alice.id, key="a1", due_at=now - timedelta(days=1))
    _open(session, customer.id, alice.id, key="a2", due_at=now - timedelta(days=2))
    _open(session, customer.id, alice.id, key="a3", due_at=now + timedelta(days=2))
    _open(session, customer.id, bob.id, key="b1", due_at=now + timedelta(days=1))
    done = _open(session, customer.id, bob.id, key="b2", due_at=now - timedelta(days=5))
    close_task(session, done.id, actor=ACTOR)

    loads = task_dashboard(session, now=now)

    assert [(x.owner_name, x.n_open, x.n_overdue) for x in loads] == [
        ("Alice", 3, 2),
        ("Bob", 1, 0),
    ]
    mine, n_mine = list_tasks(session, owner_id=alice.id, overdue_at=now)
    assert n_mine == 2
    assert [t.dedupe_key for t in mine] == ["a2", "a1"]
