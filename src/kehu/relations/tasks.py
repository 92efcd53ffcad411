"""Tasks: every alert of the relationship playbooks becomes one, with an owner and a due date."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError, as_utc, utcnow
from kehu.customers import Customer
from kehu.relations.errors import RelationsErrorCode
from kehu.relations.models import Task, TaskStatus
from kehu.users import User
from kehu.webhooks import emit

MAX_TITLE_CHARS = 300
MAX_KEY_CHARS = 200


def _require_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(
            f"There is no customer {customer_id}.", code=RelationsErrorCode.UNKNOWN_CUSTOMER
        )
    return customer


def _require_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidInputError(
            f"There is no active user {user_id} to own the task; choose another owner.",
            code=RelationsErrorCode.UNKNOWN_USER,
        )
    return user


def get_task(session: Session, task_id: int) -> Task:
    """Return the task or raise :class:`NotFoundError`."""
    task = session.get(Task, task_id)
    if task is None:
        raise NotFoundError(f"There is no task {task_id}.", code=RelationsErrorCode.TASK_NOT_FOUND)
    return task


def find_open_task(session: Session, dedupe_key: str) -> Task | None:
    """Return the open task with this dedupe key, if there is one."""
    return session.scalar(
        select(Task).where(Task.dedupe_key == dedupe_key, Task.status == TaskStatus.OPEN)
    )


def open_task(
    session: Session,
    *,
    customer_id: int,
    kind: str,
    title: str,
    owner_id: int | None,
    due_at: datetime,
    evidence: dict[str, Any],
    dedupe_key: str,
    actor: Actor,
) -> Task:
    """Open a task, idempotent by dedupe_key while one is open (refreshes its evidence).

    A second call with the key of an open task updates that task's evidence (and its title,
    when it changed) and returns it; its owner and due date stay as people may have changed
    them. Once the task is closed, the same key opens a new one.

    Raises
    ------
    NotFoundError
        The customer does not exist.
    InvalidInputError
        An empty kind, title or key, or an owner who is not an active user.
    """
    kind = (kind or "").strip().lower()
    title = (title or "").strip()
    dedupe_key = (dedupe_key or "").strip()
    if not kind or len(kind) > 32:
        raise InvalidInputError(
            "A task needs a kind of 1-32 characters (neglect, service_due, surprise...).",
            code=RelationsErrorCode.BAD_TASK,
        )
    if not title:
        raise InvalidInputError("A task needs a title.", code=RelationsErrorCode.BAD_TASK)
    if not dedupe_key or len(dedupe_key) > MAX_KEY_CHARS:
        raise InvalidInputError(
            f"A task needs a dedupe key of 1-{MAX_KEY_CHARS} characters.",
            code=RelationsErrorCode.BAD_TASK,
        )
    if due_at.tzinfo is None:
        raise InvalidInputError(
            "due_at must carry a time zone (UTC).", code=RelationsErrorCode.BAD_TASK
        )
    # One flush per task (below) is enough; autoflushing before each lookup tripled the cost
    # of a batch run (the previous task's audit row flushed on every read).
    with session.no_autoflush:
        _require_customer(session, customer_id)
        if owner_id is not None:
            _require_user(session, owner_id)
        existing = find_open_task(session, dedupe_key)
    if existing is not None:
        if existing.evidence == evidence and existing.title == title[:MAX_TITLE_CHARS]:
            return existing  # nothing new: no write, no audit row on every scheduled run
        existing.evidence = dict(evidence)
        existing.title = title[:MAX_TITLE_CHARS]
        session.flush()
        record(
            session,
            actor=actor,
            action="task.refresh",
            object_type="task",
            object_id=existing.id,
            summary=f"evidence refreshed: {existing.title}",
        )
        return existing
    task = Task(
        customer_id=customer_id,
        kind=kind,
        title=title[:MAX_TITLE_CHARS],
        owner_id=owner_id,
        due_at=as_utc(due_at),
        status=TaskStatus.OPEN,
        evidence=dict(evidence),
        dedupe_key=dedupe_key,
        source=(f"{actor.kind}:{actor.label}")[:64],
        opened_at=utcnow(),
    )
    session.add(task)
    session.flush()
    record(
        session,
        actor=actor,
        action="task.open",
        object_type="task",
        object_id=task.id,
        summary=f"{kind} for customer {customer_id}: {task.title}",
        changes={"owner_id": owner_id, "due_at": task.due_at.isoformat()},
    )
    emit(session, "task.opened", {"task_id": task.id, "customer_id": customer_id, "kind": kind})
    return task


def close_task(
    session: Session,
    task_id: int,
    *,
    actor: Actor,
    status: TaskStatus | str = TaskStatus.DONE,
    note: str = "",
) -> Task:
    """Mark a task done or dismissed (with an optional note).

    Raises
    ------
    ConflictError
        The task is already closed.
    InvalidInputError
        ``status`` is neither done nor dismissed.
    """
    try:
        status = TaskStatus(status)
    except ValueError as exc:
        raise InvalidInputError(
            f"A task closes as done or dismissed, not {status!r}.",
            code=RelationsErrorCode.BAD_STATUS,
        ) from exc
    if status is TaskStatus.OPEN:
        raise InvalidInputError(
            "A task closes as done or dismissed, not open.", code=RelationsErrorCode.BAD_STATUS
        )
    task = get_task(session, task_id)
    if task.status != TaskStatus.OPEN:
        raise ConflictError(
            f"Task {task_id} is already {task.status}.", code=RelationsErrorCode.TASK_CLOSED
        )
    task.status = status
    task.closed_at = utcnow()
    task.closed_by = actor.label[:320]
    task.note = (note or "").strip()[:5000]
    session.flush()
    record(
        session,
        actor=actor,
        action=f"task.{status.value}",
        object_type="task",
        object_id=task.id,
        summary=f"{task.title}{': ' + task.note if task.note else ''}",
    )
    return task


def reassign_task(
    session: Session,
    task_id: int,
    *,
    owner_id: int | None,
    actor: Actor,
    due_at: datetime | None = None,
) -> Task:
    """Give an open task to another owner (``None``: nobody), optionally with a new due date."""
    task = get_task(session, task_id)
    if task.status != TaskStatus.OPEN:
        raise ConflictError(
            f"Task {task_id} is {task.status}; only open tasks can be reassigned.",
            code=RelationsErrorCode.TASK_CLOSED,
        )
    if owner_id is not None:
        _require_user(session, owner_id)
    if due_at is not None and due_at.tzinfo is None:
        raise InvalidInputError(
            "due_at must carry a time zone (UTC).", code=RelationsErrorCode.BAD_TASK
        )
    old_owner, old_due = task.owner_id, task.due_at
    task.owner_id = owner_id
    if due_at is not None:
        task.due_at = as_utc(due_at)
    session.flush()
    record(
        session,
        actor=actor,
        action="task.reassign",
        object_type="task",
        object_id=task.id,
        summary=f"owner {old_owner} -> {owner_id}",
        changes={
            "owner_id": [old_owner, owner_id],
            "due_at": [old_due.isoformat(), task.due_at.isoformat()],
        },
    )
    return task


def list_tasks(
    session: Session,
    *,
    owner_id: int | None = None,
    customer_id: int | None = None,
    status: TaskStatus | str | None = TaskStatus.OPEN,
    overdue_at: datetime | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
    where: ColumnElement[bool] | None = None,
) -> tuple[Sequence[Task], int]:
    """Return one page of tasks, soonest due first, and the number matching.

    ``overdue_at`` keeps only tasks due before that moment.
    """
    query = select(Task)
    if where is not None:  # a caller's scope on tasks (kehu.access)
        query = query.where(where)
    if owner_id is not None:
        query = query.where(Task.owner_id == owner_id)
    if customer_id is not None:
        query = query.where(Task.customer_id == customer_id)
    if status is not None:
        query = query.where(Task.status == TaskStatus(status))
    if overdue_at is not None:
        query = query.where(Task.due_at < overdue_at)
    if kind:
        query = query.where(Task.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Task.due_at, Task.id).limit(limit).offset(offset)).all()
    return rows, total


@dataclass(frozen=True)
class OwnerLoad:
    """Open and overdue tasks of one owner (``owner_id`` None: tasks nobody owns)."""

    owner_id: int | None
    owner_name: str
    n_open: int
    n_overdue: int


def task_dashboard(
    session: Session, *, now: datetime | None = None, where: ColumnElement[bool] | None = None
) -> list[OwnerLoad]:
    """Return open and overdue task counts per owner, most overdue first."""
    now = now or utcnow()
    overdue = func.sum(case((Task.due_at < now, 1), else_=0))
    rows = session.execute(
        select(Task.owner_id, User.name, func.count(), overdue)
        .outerjoin(User, User.id == Task.owner_id)
        .where(Task.status == TaskStatus.OPEN, *([] if where is None else [where]))
        .group_by(Task.owner_id, User.name)
    ).all()
    loads = [
        OwnerLoad(
            owner_id=row[0],
            owner_name=row[1] or "",
            n_open=int(row[2]),
            n_overdue=int(row[3] or 0),
        )
        for row in rows
    ]
    return sorted(loads, key=lambda load: (-load.n_overdue, -load.n_open, load.owner_name))


def task_keys(session: Session, keys: Sequence[str]) -> dict[str, TaskStatus]:
    """Return the status of the newest task for each of these dedupe keys that has one.

    Jobs use it to leave alone alerts someone already closed (done or dismissed).
    """
    found: dict[str, tuple[int, TaskStatus]] = {}
    unique = sorted(set(keys))
    for start in range(0, len(unique), 500):
        rows = session.execute(
            select(Task.dedupe_key, Task.id, Task.status).where(
                Task.dedupe_key.in_(unique[start : start + 500])
            )
        ).all()
        for key, task_id, status in rows:
            if key not in found or task_id > found[key][0]:
                found[key] = (task_id, TaskStatus(status))
    return {key: status for key, (_, status) in found.items()}
