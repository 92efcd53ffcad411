"""The category tree, its CSV import, canonical answers (versioned) and SLA policies."""

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError
from kehu.service.clocks import DEFAULT_SLA_POLICY, recompute_due_times
from kehu.service.errors import ServiceErrorCode
from kehu.service.models import CanonicalAnswer, Category, SlaPolicy
from kehu.service.sla import BusinessCalendar, validate_targets
from kehu.users import Department

MAX_CSV_BYTES = 5 * 1024 * 1024
CSV_COLUMNS = ("code", "name", "parent_code", "department_code", "sla_policy_code")
MAX_ANSWER_CHARS = 20_000


# --- reads -------------------------------------------------------------------------------------


def list_categories(session: Session, *, include_inactive: bool = False) -> Sequence[Category]:
    """Return the categories ordered by code."""
    query = select(Category).order_by(Category.code)
    if not include_inactive:
        query = query.where(Category.is_active.is_(True))
    return session.scalars(query).all()


def get_category(session: Session, category_id: int) -> Category:
    """Return the category or raise :class:`NotFoundError`."""
    category = session.get(Category, category_id)
    if category is None:
        raise NotFoundError(
            f"There is no category {category_id}.", code=ServiceErrorCode.CATEGORY_NOT_FOUND
        )
    return category


def find_category_by_code(session: Session, code: str) -> Category | None:
    """Return the category with this code, or ``None``."""
    return session.scalar(select(Category).where(Category.code == code.strip()))


def category_by_code(session: Session, code: str, *, field_name: str = "category") -> Category:
    """Return the active category with this code; an unknown one is a 422 naming the field."""
    category = find_category_by_code(session, code)
    if category is None or not category.is_active:
        raise InvalidInputError(
            f"{field_name}: there is no category {code!r}; list them with GET "
            "/api/v1/service/categories.",
            code=ServiceErrorCode.UNKNOWN_CATEGORY,
        )
    return category


def leaf_ids(session: Session) -> set[int]:
    """Return the ids of active categories without active children."""
    parents = set(
        session.scalars(
            select(Category.parent_id).where(
                Category.is_active.is_(True), Category.parent_id.is_not(None)
            )
        ).all()
    )
    active = session.scalars(select(Category.id).where(Category.is_active.is_(True))).all()
    return {cid for cid in active if cid not in parents}


def is_leaf(session: Session, category: Category) -> bool:
    """Tell whether a category is active and has no active children (it can route tickets)."""
    if not category.is_active:
        return False
    child = session.scalar(
        select(Category.id)
        .where(Category.parent_id == category.id, Category.is_active.is_(True))
        .limit(1)
    )
    return child is None


def category_paths(session: Session) -> dict[int, str]:
    """Return every category's path of names ("Cards / Card arrival"), by id."""
    rows = {c.id: c for c in session.scalars(select(Category)).all()}
    paths: dict[int, str] = {}
    for cid, category in rows.items():
        names: list[str] = []
        seen: set[int] = set()
        node: Category | None = category
        while node is not None and node.id not in seen:
            seen.add(node.id)
            names.append(node.name)
            node = rows.get(node.parent_id) if node.parent_id is not None else None
        paths[cid] = " / ".join(reversed(names))
    return paths


# --- writes ------------------------------------------------------------------------------------


def _department_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    department_id = session.scalar(select(Department.id).where(Department.code == code.strip()))
    if department_id is None:
        raise InvalidInputError(
            f"There is no department with code {code!r}.", code=ServiceErrorCode.UNKNOWN_DEPARTMENT
        )
    return department_id


def _policy_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    policy_id = session.scalar(select(SlaPolicy.id).where(SlaPolicy.code == code.strip()))
    if policy_id is None:
        raise InvalidInputError(
            f"There is no SLA policy with code {code!r}.",
            code=ServiceErrorCode.SLA_POLICY_NOT_FOUND,
        )
    return policy_id


def _check_code(code: str, what: str) -> str:
    code = (code or "").strip()
    if not code or len(code) > 128:
        raise InvalidInputError(
            f"A {what} needs a code of 1 to 128 characters.", code=ServiceErrorCode.BAD_CSV
        )
    return code


def _check_no_cycle(session: Session, category: Category, parent_id: int | None) -> None:
    seen: set[int] = set()
    node_id = parent_id
    while node_id is not None:
        if node_id == category.id or node_id in seen:
            raise InvalidInputError(
                f"Category {category.code!r} cannot sit under one of its own descendants.",
                code=ServiceErrorCode.CATEGORY_CYCLE,
            )
        seen.add(node_id)
        node_id = session.scalar(select(Category.parent_id).where(Category.id == node_id))


def create_category(
    session: Session,
    *,
    code: str,
    name: str,
    actor: Actor,
    parent_code: str | None = None,
    department_code: str | None = None,
    sla_policy_code: str | None = None,
) -> Category:
    """Create a category (a leaf until another category names it as parent).

    Raises
    ------
    ConflictError
        When the code is taken.
    InvalidInputError
        For an unknown parent, department or SLA policy.
    """
    code = _check_code(code, "category")
    if find_category_by_code(session, code) is not None:
        raise ConflictError(
            f"A category with code {code!r} already exists.",
            code=ServiceErrorCode.DUPLICATE_CATEGORY,
        )
    parent = (
        category_by_code(session, parent_code, field_name="parent_code") if parent_code else None
    )
    category = Category(
        code=code,
        name=(name or code).strip()[:200],
        parent_id=None if parent is None else parent.id,
        department_id=_department_id(session, department_code),
        sla_policy_id=_policy_id(session, sla_policy_code),
        is_active=True,
    )
    session.add(category)
    session.flush()
    record(
        session,
        actor=actor,
        action="service.category.create",
        object_type="service_category",
        object_id=category.id,
        summary=f"created category {code}",
    )
    return category


_UNSET: Any = object()


def update_category(
    session: Session,
    category: Category,
    *,
    actor: Actor,
    name: str | None = None,
    parent_code: str | None = _UNSET,
    department_code: str | None = _UNSET,
    sla_policy_code: str | None = _UNSET,
    is_active: bool | None = None,
) -> Category:
    """Change a category; ``""``/``None`` for parent, department or policy clears it."""
    changes: dict[str, Any] = {}
    if name is not None and name.strip():
        category.name = name.strip()[:200]
        changes["name"] = category.name
    if parent_code is not _UNSET:
        parent = (
            category_by_code(session, parent_code, field_name="parent_code")
            if parent_code
            else None
        )
        parent_id = None if parent is None else parent.id
        _check_no_cycle(session, category, parent_id)
        category.parent_id = parent_id
        changes["parent_code"] = parent_code or None
    if department_code is not _UNSET:
        category.department_id = _department_id(session, department_code)
        changes["department_code"] = department_code or None
    if sla_policy_code is not _UNSET:
        category.sla_policy_id = _policy_id(session, sla_policy_code)
        changes["sla_policy_code"] = sla_policy_code or None
    if is_active is False and category.is_active:
        child = session.scalar(
            select(Category.code)
            .where(Category.parent_id == category.id, Category.is_active.is_(True))
            .limit(1)
        )
        if child is not None:
            raise InvalidInputError(
                f"Category {category.code!r} still has active sub-categories (such as "
                f"{child!r}); retire or move them first.",
                code=ServiceErrorCode.NOT_A_LEAF,
            )
    if is_active is not None:
        category.is_active = is_active
        changes["is_active"] = is_active
    session.flush()
    if "parent_code" in changes or "sla_policy_code" in changes:
        # The category and everything below it may now inherit another policy.
        recompute_due_times(
            session, actor=actor, category_ids=[category.id], reason=f"category {category.code}"
        )
    record(
        session,
        actor=actor,
        action="service.category.update",
        object_type="service_category",
        object_id=category.id,
        summary=f"changed category {category.code}",
        changes=changes,
    )
    return category


@dataclass
class RowError:
    """A CSV row that was not loaded, and why (``line`` counts the header as 1)."""

    line: int
    message: str


@dataclass
class CategoryImportReport:
    """What a category CSV import did."""

    n_rows: int = 0
    n_created: int = 0
    n_updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    #: False when ``all_or_nothing`` found errors and nothing was written.
    applied: bool = True


def _decode_csv(data: bytes) -> str:
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInputError(
            f"The file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB; split it.",
            code=ServiceErrorCode.BAD_CSV,
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInputError(
        "The file is neither UTF-8 nor GB18030 text; save it as UTF-8 CSV.",
        code=ServiceErrorCode.BAD_CSV,
    )


def import_categories_csv(
    session: Session, data: bytes, *, actor: Actor, all_or_nothing: bool = False
) -> CategoryImportReport:
    """Create or update categories from CSV (columns :data:`CSV_COLUMNS`; only code is required).

    Rows may come in any order (a child before its parent). A row with an unknown parent,
    department or SLA policy is reported and skipped; one that would close a parent cycle is
    reported and loads without its parent. The other rows load, unless ``all_or_nothing``:
    then any error writes nothing (``applied`` is false) and the report lists every row's
    problem, so the file can be fixed and loaded whole.

    Raises
    ------
    InvalidInputError
        When the file is not CSV text or has no ``code`` column.
    """
    text = _decode_csv(data)
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        rows = list(reader)
    except csv.Error as exc:
        raise InvalidInputError(
            f"The file is not valid CSV: {exc}.", code=ServiceErrorCode.BAD_CSV
        ) from exc
    if "code" not in header:
        raise InvalidInputError(
            f"The CSV needs a 'code' column; the columns are: {', '.join(CSV_COLUMNS)}.",
            code=ServiceErrorCode.BAD_CSV,
        )
    if not all_or_nothing:
        return _import_rows(session, rows, actor=actor)
    savepoint = session.begin_nested()
    report = _import_rows(session, rows, actor=actor)
    if report.errors:
        savepoint.rollback()
        report.applied = False
        report.n_created = report.n_updated = 0
    else:
        savepoint.commit()
    return report


def _import_rows(
    session: Session, rows: Sequence[Mapping[str, Any]], *, actor: Actor
) -> CategoryImportReport:
    report = CategoryImportReport(n_rows=len(rows))
    pending: list[tuple[int, Category, str]] = []
    cleaned = [
        {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k} for raw in rows
    ]
    in_file = {row.get("code", "") for row in cleaned}
    for line, row in enumerate(cleaned, start=2):
        parent_code = row.get("parent_code", "")
        try:
            code = _check_code(row.get("code", ""), "category")
            department_id = _department_id(session, row.get("department_code"))
            policy_id = _policy_id(session, row.get("sla_policy_code"))
            if (
                parent_code
                and parent_code not in in_file
                and find_category_by_code(session, parent_code) is None
            ):
                raise InvalidInputError(f"Parent {parent_code!r} of {code!r} does not exist.")
        except InvalidInputError as exc:
            report.errors.append(RowError(line, exc.message))
            continue
        category = find_category_by_code(session, code)
        if category is None:
            category = Category(code=code, name=(row.get("name") or code)[:200], is_active=True)
            session.add(category)
            report.n_created += 1
        else:
            if row.get("name"):
                category.name = row["name"][:200]
            category.is_active = True
            report.n_updated += 1
        category.department_id = department_id
        category.sla_policy_id = policy_id
        pending.append((line, category, parent_code))
    session.flush()
    for line, category, parent_code in pending:
        if not parent_code:
            category.parent_id = None
            continue
        parent = find_category_by_code(session, parent_code)
        if parent is None:
            report.errors.append(
                RowError(line, f"Parent {parent_code!r} of {category.code!r} does not exist.")
            )
            continue
        try:
            _check_no_cycle(session, category, parent.id)
        except InvalidInputError as exc:
            report.errors.append(RowError(line, exc.message))
            continue
        category.parent_id = parent.id
        session.flush()
    if pending:
        recompute_due_times(
            session,
            actor=actor,
            category_ids=[category.id for _, category, _ in pending],
            reason="category import",
        )
    record(
        session,
        actor=actor,
        action="service.category.import",
        object_type="service_category",
        summary=(
            f"imported categories: {report.n_created} created, {report.n_updated} updated, "
            f"{len(report.errors)} errors"
        ),
    )
    return report


# --- canonical answers -------------------------------------------------------------------------


def list_answer_versions(session: Session, category_id: int) -> Sequence[CanonicalAnswer]:
    """Return every version of a category's canonical answer, newest first."""
    return session.scalars(
        select(CanonicalAnswer)
        .where(CanonicalAnswer.category_id == category_id)
        .order_by(CanonicalAnswer.version.desc())
    ).all()


def find_canonical_answer(session: Session, category_id: int | None) -> CanonicalAnswer | None:
    """Return the current answer of a category, or of its nearest ancestor that has one."""
    seen: set[int] = set()
    node_id = category_id
    while node_id is not None and node_id not in seen:
        seen.add(node_id)
        answer = session.scalar(
            select(CanonicalAnswer).where(
                CanonicalAnswer.category_id == node_id, CanonicalAnswer.is_current.is_(True)
            )
        )
        if answer is not None:
            return answer
        node_id = session.scalar(select(Category.parent_id).where(Category.id == node_id))
    return None


def set_canonical_answer(
    session: Session,
    category: Category,
    *,
    body: str,
    actor: Actor,
    note: str = "",
    author_id: int | None = None,
) -> CanonicalAnswer:
    """Store a new version of a category's answer; earlier versions are kept, not current."""
    body = (body or "").strip()
    if not body:
        raise InvalidInputError("The answer is empty.", code=ServiceErrorCode.EMPTY_MESSAGE)
    if len(body) > MAX_ANSWER_CHARS:
        raise InvalidInputError(
            f"The answer is longer than {MAX_ANSWER_CHARS} characters.",
            code=ServiceErrorCode.MESSAGE_TOO_LONG,
        )
    last = session.scalar(
        select(func.max(CanonicalAnswer.version)).where(CanonicalAnswer.category_id == category.id)
    )
    for previous in session.scalars(
        select(CanonicalAnswer).where(
            CanonicalAnswer.category_id == category.id, CanonicalAnswer.is_current.is_(True)
        )
    ):
        previous.is_current = False
    answer = CanonicalAnswer(
        category_id=category.id,
        version=(last or 0) + 1,
        body=body,
        note=(note or "").strip()[:300],
        author_id=author_id,
        is_current=True,
    )
    session.add(answer)
    session.flush()
    record(
        session,
        actor=actor,
        action="service.answer.set",
        object_type="service_category",
        object_id=category.id,
        summary=f"answer v{answer.version} for {category.code}",
    )
    return answer


# --- SLA policies ------------------------------------------------------------------------------


def list_sla_policies(session: Session) -> Sequence[SlaPolicy]:
    """Return every SLA policy, by code."""
    return session.scalars(select(SlaPolicy).order_by(SlaPolicy.code)).all()


def get_sla_policy(session: Session, policy_id: int) -> SlaPolicy:
    """Return the SLA policy or raise :class:`NotFoundError`."""
    policy = session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFoundError(
            f"There is no SLA policy {policy_id}.", code=ServiceErrorCode.SLA_POLICY_NOT_FOUND
        )
    return policy


def save_sla_policy(
    session: Session,
    *,
    code: str,
    actor: Actor,
    name: str | None = None,
    timezone: str | None = None,
    business_hours: Mapping[str, Any] | None = None,
    holidays: Sequence[str] | None = None,
    targets: Mapping[str, Any] | None = None,
    warn_at_share: float | None = None,
    policy: SlaPolicy | None = None,
) -> SlaPolicy:
    """Create a policy (``policy`` None) or change one; everything is validated first."""
    if policy is None:
        code = _check_code(code, "SLA policy")[:64]
        if session.scalar(select(SlaPolicy.id).where(SlaPolicy.code == code)) is not None:
            raise ConflictError(
                f"An SLA policy with code {code!r} already exists.",
                code=ServiceErrorCode.DUPLICATE_SLA_POLICY,
            )
        if targets is None:
            raise InvalidInputError(
                "A new SLA policy needs targets, e.g. {'default': {'first_response_minutes': "
                "240, 'resolution_minutes': 2880}}.",
                code=ServiceErrorCode.BAD_TARGETS,
            )
    hours = dict(business_hours) if business_hours is not None else None
    calendar = BusinessCalendar.from_config(
        timezone=timezone or (policy.timezone if policy else "UTC"),
        business_hours=hours if hours is not None else (policy.business_hours if policy else {}),
        holidays=list(holidays) if holidays is not None else (policy.holidays if policy else []),
    )
    clean_targets = validate_targets(targets) if targets is not None else None
    if warn_at_share is not None and not 0 < warn_at_share < 1:
        raise InvalidInputError(
            "warn_at_share must be between 0 and 1 (e.g. 0.8).", code=ServiceErrorCode.BAD_TARGETS
        )
    created = policy is None
    if policy is None:
        policy = SlaPolicy(code=code, name=name or code, targets=clean_targets)
        session.add(policy)
    elif name:
        policy.name = name
    policy.timezone = calendar.timezone
    if hours is not None:
        policy.business_hours = hours
    if holidays is not None:
        policy.holidays = sorted(d.isoformat() for d in calendar.holidays)
    if clean_targets is not None:
        policy.targets = clean_targets
    if warn_at_share is not None:
        policy.warn_at_share = warn_at_share
    session.flush()
    clock_inputs = (timezone, business_hours, holidays, targets)
    if (created and policy.code == DEFAULT_SLA_POLICY) or (
        not created and any(v is not None for v in clock_inputs)
    ):
        # Open tickets under this policy (or, for a new default, under none) follow it.
        recompute_due_times(
            session, actor=actor, policy_ids=[policy.id], reason=f"SLA policy {policy.code}"
        )
    record(
        session,
        actor=actor,
        action="service.sla_policy." + ("create" if created else "update"),
        object_type="service_sla_policy",
        object_id=policy.id,
        summary=f"SLA policy {policy.code}",
    )
    return policy


def current_answer_versions(session: Session) -> dict[int, int]:
    """Return the version of each category's current canonical answer, by category id."""
    rows = session.execute(
        select(CanonicalAnswer.category_id, CanonicalAnswer.version).where(
            CanonicalAnswer.is_current.is_(True)
        )
    ).all()
    return {int(category_id): int(version) for category_id, version in rows}


def descendant_ids(session: Session, category_id: int) -> set[int]:
    """Return the ids of every category below this one (it cannot move under them)."""
    children: dict[int, list[int]] = {}
    for cid, parent_id in session.execute(select(Category.id, Category.parent_id)).all():
        if parent_id is not None:
            children.setdefault(int(parent_id), []).append(int(cid))
    found: set[int] = set()
    stack = list(children.get(category_id, []))
    while stack:
        node = stack.pop()
        if node not in found:
            found.add(node)
            stack.extend(children.get(node, []))
    return found


# --- SLA policies as text (the console's form) -------------------------------------------------


def parse_business_hours(text: str) -> dict[str, list[str]]:
    """Read one ``WEEKDAY HH:MM-HH:MM`` per line (1 = Monday ... 7 = Sunday); empty is 24/7.

    Raises
    ------
    InvalidInputError
        Naming the line that is not in that form (the times are checked when saved).
    """
    hours: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        day, _, span = line.partition(" ")
        start, dash, end = span.strip().partition("-")
        if not (day.isdigit() and 1 <= int(day) <= 7 and dash and start.strip() and end.strip()):
            raise InvalidInputError(
                f"Business hours line {number} ({line!r}) is not 'weekday start-end', "
                "e.g. '1 09:00-18:00' (1 = Monday, 7 = Sunday).",
                code=ServiceErrorCode.BAD_CALENDAR,
            )
        hours[str(int(day))] = [start.strip(), end.strip()]
    return hours


def format_business_hours(hours: Mapping[str, Any]) -> str:
    """Write business hours the way :func:`parse_business_hours` reads them."""
    return "\n".join(
        f"{day} {span[0]}-{span[1]}" for day, span in sorted(hours.items(), key=lambda i: i[0])
    )


def parse_targets(text: str) -> dict[str, dict[str, int]]:
    """Read one ``TIER FIRST_RESPONSE_MINUTES RESOLUTION_MINUTES`` per line.

    Raises
    ------
    InvalidInputError
        Naming the line that is not in that form, or when ``default`` is missing.
    """
    targets: dict[str, dict[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
            raise InvalidInputError(
                f"Targets line {number} ({line.strip()!r}) is not 'tier first-response-minutes "
                "resolution-minutes', e.g. 'default 240 2880'.",
                code=ServiceErrorCode.BAD_TARGETS,
            )
        targets[parts[0]] = {
            "first_response_minutes": int(parts[1]),
            "resolution_minutes": int(parts[2]),
        }
    return validate_targets(targets)


def format_targets(targets: Mapping[str, Any]) -> str:
    """Write targets the way :func:`parse_targets` reads them (``default`` first)."""
    order = sorted(targets, key=lambda tier: (tier != "default", tier))
    return "\n".join(
        f"{tier} {targets[tier]['first_response_minutes']} {targets[tier]['resolution_minutes']}"
        for tier in order
    )
