"""Playbook rules as data: a condition tree, a small interpreter, an action registry.

A rule reads: *when* a condition over a customer's snapshot holds, plan *an action* with its
parameters. Conditions are plain data (JSON/YAML), never code (STYLE.md §9)::

    {"all": [["tier", "eq", "vip"],
             {"any": [["days_since_last_touch", "gt", 30], ["days_since_last_touch", "is_null"]]},
             {"not": ["has_owner", "eq", false]}]}

Only the fields in :data:`FIELDS` and the operators in :data:`OPERATORS` are accepted, each
operator only on the kinds of field it makes sense for, and the value is checked against the
field when the rule is validated, so a rule that would fail at run time is refused when saved.

:func:`evaluate` is pure -- rules and snapshots in, :class:`PlannedAction` out -- so a dry run
and the unit tests need no database. :func:`execute` carries a plan out through the registered
actions, whose implementations call feature operations (so every effect is audited).
"""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from string import Template
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.orm import Session

from kehu.core import Actor, InvalidInputError, KehuError, utcnow

FieldKind = Literal["number", "text", "bool"]

#: The snapshot fields a condition may read, with their kind and meaning.
FIELDS: dict[str, tuple[FieldKind, str]] = {
    "tier": ("text", "value tier: vip, high, medium, low (none when not scored)"),
    "rfm_segment": ("text", "RFM segment name"),
    "kind": ("text", "person or organisation"),
    "country": ("text", "country"),
    "stage": ("text", "relationship stage, when the health analysis has run"),
    "clv": ("number", "predicted customer lifetime value"),
    "p_alive": ("number", "probability the customer is still active (0-1)"),
    "churn_risk": ("number", "churn risk (0-1), when the health analysis has run"),
    "total_spend": ("number", "spend so far"),
    "n_orders": ("number", "orders placed"),
    "days_since_last_order": ("number", "days since the last order"),
    "days_since_first_order": ("number", "days since the first order"),
    "days_since_last_touch": ("number", "days since we last did something for them"),
    "days_to_birthday": ("number", "days until the next birthday (0: today)"),
    "days_to_anniversary": ("number", "days until the next anniversary of the first order"),
    "days_since_complaint_fixed": ("number", "days since a service ticket was last resolved"),
    "n_open_tickets": ("number", "service tickets not yet resolved"),
    "n_open_tasks": ("number", "open tasks about the customer"),
    "n_referrals": ("number", "customers they brought"),
    "month": ("number", "the month of the run (1-12)"),
    "has_owner": ("bool", "an account owner is set"),
}

#: Operators, and the kinds of field each applies to.
OPERATORS: dict[str, frozenset[FieldKind]] = {
    "eq": frozenset({"number", "text", "bool"}),
    "ne": frozenset({"number", "text", "bool"}),
    "lt": frozenset({"number"}),
    "le": frozenset({"number"}),
    "gt": frozenset({"number"}),
    "ge": frozenset({"number"}),
    "in": frozenset({"number", "text"}),
    "not_in": frozenset({"number", "text"}),
    "is_null": frozenset({"number", "text", "bool"}),
    "not_null": frozenset({"number", "text", "bool"}),
}
_NO_VALUE = frozenset({"is_null", "not_null"})
#: Deepest nesting of all/any/not accepted (a guard against pathological documents).
MAX_DEPTH = 8


def _check_scalar(kind: FieldKind, value: Any, where: str) -> None:
    ok = {
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "text": isinstance(value, str),
        "bool": isinstance(value, bool),
    }[kind]
    if not ok:
        raise ValueError(f"{where} needs a {kind} value, not {value!r}")


class Leaf(BaseModel):
    """One comparison ``[field, operator, value]`` (``value`` absent for is_null/not_null)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    op: str
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            if len(data) not in (2, 3):
                raise ValueError(
                    "a comparison is [field, operator, value] or [field, is_null|not_null]"
                )
            return {"field": data[0], "op": data[1], "value": data[2] if len(data) == 3 else None}
        return data

    @model_validator(mode="after")
    def _whitelisted(self) -> "Leaf":
        if self.field not in FIELDS:
            raise ValueError(
                f"unknown field {self.field!r}; known fields: {', '.join(sorted(FIELDS))}"
            )
        if self.op not in OPERATORS:
            raise ValueError(
                f"unknown operator {self.op!r}; known operators: {', '.join(OPERATORS)}"
            )
        kind = FIELDS[self.field][0]
        if kind not in OPERATORS[self.op]:
            raise ValueError(f"operator {self.op!r} does not apply to {kind} field {self.field!r}")
        where = f"[{self.field!r}, {self.op!r}]"
        if self.op in _NO_VALUE:
            if self.value is not None:
                raise ValueError(f"{where} takes no value")
        elif self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"{where} needs a non-empty list of values")
            for item in self.value:
                _check_scalar(kind, item, where)
        else:
            _check_scalar(kind, self.value, where)
        return self

    def as_list(self) -> list[Any]:
        """Return the comparison as ``[field, op, value]`` (its stored form)."""
        if self.op in _NO_VALUE:
            return [self.field, self.op]
        return [self.field, self.op, self.value]


class AllOf(BaseModel):
    """True when every condition holds (an empty list holds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    all: list["Condition"]


class AnyOf(BaseModel):
    """True when at least one condition holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    any: list["Condition"] = Field(min_length=1)


class NotOf(BaseModel):
    """True when the condition does not hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    not_: "Condition" = Field(alias="not")


def _node_kind(data: Any) -> str:
    """Pick the node type from its shape so errors name the one node meant."""
    if isinstance(data, dict):
        for key in ("all", "any", "not"):
            if key in data:
                return key
        if "not_" in data:
            return "not"
        return "leaf" if "field" in data else "unknown"
    if isinstance(data, AllOf):
        return "all"
    if isinstance(data, AnyOf):
        return "any"
    if isinstance(data, NotOf):
        return "not"
    return "leaf" if isinstance(data, list | tuple | Leaf) else "unknown"


Condition = Annotated[
    Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotOf, Tag("not")]
    | Annotated[Leaf, Tag("leaf")],
    Discriminator(
        _node_kind,
        custom_error_type="bad_condition",
        custom_error_message=(
            'a condition is {"all": [...]}, {"any": [...]}, {"not": ...} '
            "or [field, operator, value]"
        ),
    ),
]
#: A parsed condition node.
Node = AllOf | AnyOf | NotOf | Leaf
AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


def _depth(condition: Node, level: int = 0) -> int:
    if isinstance(condition, AllOf):
        return max((_depth(c, level + 1) for c in condition.all), default=level + 1)
    if isinstance(condition, AnyOf):
        return max(_depth(c, level + 1) for c in condition.any)
    if isinstance(condition, NotOf):
        return _depth(condition.not_, level + 1)
    return level


def dump_condition(condition: Node) -> Any:
    """Return a condition in its stored JSON form."""
    if isinstance(condition, AllOf):
        return {"all": [dump_condition(c) for c in condition.all]}
    if isinstance(condition, AnyOf):
        return {"any": [dump_condition(c) for c in condition.any]}
    if isinstance(condition, NotOf):
        return {"not": dump_condition(condition.not_)}
    return condition.as_list()


def fields_of(condition: Node) -> list[str]:
    """Return the fields a condition reads, in order of first use."""
    if isinstance(condition, AllOf):
        parts = [f for c in condition.all for f in fields_of(c)]
    elif isinstance(condition, AnyOf):
        parts = [f for c in condition.any for f in fields_of(c)]
    elif isinstance(condition, NotOf):
        parts = fields_of(condition.not_)
    else:
        parts = [condition.field]
    return list(dict.fromkeys(parts))


def _compare(leaf: Leaf, actual: Any) -> bool:
    if leaf.op == "is_null":
        return actual is None
    if leaf.op == "not_null":
        return actual is not None
    # An unknown value satisfies no comparison (not even "ne"): absent data never triggers.
    if actual is None:
        return False
    value = leaf.value
    match leaf.op:
        case "eq":
            return bool(actual == value)
        case "ne":
            return bool(actual != value)
        case "lt":
            return bool(actual < value)
        case "le":
            return bool(actual <= value)
        case "gt":
            return bool(actual > value)
        case "ge":
            return bool(actual >= value)
        case "in":
            return actual in value
        case "not_in":
            return actual not in value
    raise AssertionError(leaf.op)  # pragma: no cover -- operators are validated


def matches(condition: Node, snapshot: Mapping[str, Any]) -> bool:
    """Return whether a validated condition holds for a snapshot (missing fields are unknown)."""
    if isinstance(condition, AllOf):
        return all(matches(c, snapshot) for c in condition.all)
    if isinstance(condition, AnyOf):
        return any(matches(c, snapshot) for c in condition.any)
    if isinstance(condition, NotOf):
        return not matches(condition.not_, snapshot)
    return _compare(condition, snapshot.get(condition.field))


# --- actions -----------------------------------------------------------------------------

ActionImpl = Callable[[Session, "PlannedAction", Actor], str]


@dataclass(frozen=True)
class ActionSpec:
    """A registered action: its name, parameter model and implementation."""

    name: str
    params: type[BaseModel]
    run: ActionImpl
    description: str = ""


_REGISTRY: dict[str, ActionSpec] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def register_action(
    name: str,
    params: type[BaseModel] | Any,
    run: ActionImpl | Any,
    *,
    description: str = "",
) -> ActionSpec:
    """Register an action; the door checks the name, the parameter model and the callable.

    Raises
    ------
    TypeError
        ``params`` is not a pydantic model class or ``run`` is not callable.
    ValueError
        The name is not snake_case or is taken.
    """
    if not _NAME.match(name):
        raise ValueError(f"action name {name!r} must be snake_case (2-64 characters)")
    if name in _REGISTRY:
        raise ValueError(f"an action named {name!r} is already registered")
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise TypeError(f"action {name!r}: params must be a pydantic model class")
    if not callable(run):
        raise TypeError(f"action {name!r}: run must be callable")
    spec = ActionSpec(name=name, params=params, run=run, description=description)
    _REGISTRY[name] = spec
    return spec


def registered_actions() -> dict[str, ActionSpec]:
    """Return the registered actions by name."""
    return dict(_REGISTRY)


# --- rules and the engine --------------------------------------------------------------------


class RuleSpec(BaseModel):
    """A validated rule: when ``when`` holds for a customer, plan ``action`` with ``params``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    when: Condition
    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    priority: int = 0
    is_active: bool = True

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a rule needs a name")
        return value

    @model_validator(mode="after")
    def _known_action(self) -> "RuleSpec":
        if _depth(self.when) > MAX_DEPTH:
            raise ValueError(f"conditions nest at most {MAX_DEPTH} levels deep")
        spec = _REGISTRY.get(self.action)
        if spec is None:
            raise ValueError(
                f"unknown action {self.action!r}; known actions: {', '.join(sorted(_REGISTRY))}"
            )
        self.params = spec.params.model_validate(self.params).model_dump(mode="json")
        return self


def parse_rule(data: Mapping[str, Any]) -> RuleSpec:
    """Validate a rule document; raise :class:`InvalidInputError` listing every problem."""
    try:
        return RuleSpec.model_validate(dict(data))
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in error['loc']) or 'rule'}: {error['msg']}"
            for error in exc.errors()
        ]
        raise InvalidInputError(
            "The rule is not valid: " + "; ".join(problems[:8]),
            code="relations.bad_rule",
            details=problems,
        ) from exc


@dataclass(frozen=True)
class PlannedAction:
    """An action the engine plans for one customer, with the evidence that triggered it."""

    rule: str
    action: str
    customer_id: int
    params: dict[str, Any]
    evidence: dict[str, Any]
    priority: int = 0

    @property
    def dedupe_key(self) -> str:
        """The key that makes executing the same plan twice harmless."""
        return f"rule:{self.rule}:{self.customer_id}"[:200]


def evaluate(
    rules: Iterable[RuleSpec], snapshots: Iterable[Mapping[str, Any]]
) -> list[PlannedAction]:
    """Return the actions the active rules plan, highest priority first (pure).

    Each snapshot is one customer's fields (see :data:`FIELDS`) plus ``customer_id``; fields it
    lacks are unknown and satisfy no comparison but ``is_null``.
    """
    active = sorted((r for r in rules if r.is_active), key=lambda r: (-r.priority, r.name))
    plans: list[PlannedAction] = []
    for snapshot in snapshots:
        customer_id = int(snapshot["customer_id"])
        for rule in active:
            if matches(rule.when, snapshot):
                evidence = {name: snapshot.get(name) for name in fields_of(rule.when)}
                plans.append(
                    PlannedAction(
                        rule=rule.name,
                        action=rule.action,
                        customer_id=customer_id,
                        params=dict(rule.params),
                        evidence=evidence,
                        priority=rule.priority,
                    )
                )
    plans.sort(key=lambda p: (-p.priority, p.rule, p.customer_id))
    return plans


@dataclass
class ExecutionReport:
    """What executing a plan did: one line per action, and the failures with their reason."""

    done: list[str] = field(default_factory=list)
    failed: list[tuple[PlannedAction, str]] = field(default_factory=list)


def execute(session: Session, plans: Sequence[PlannedAction], *, actor: Actor) -> ExecutionReport:
    """Carry the planned actions out through the registry (each in a savepoint).

    A failing action (a customer merged away meanwhile, an owner deactivated) is reported and
    the others go on; re-running the same plan is harmless because actions are idempotent.
    """
    report = ExecutionReport()
    for plan in plans:
        spec = _REGISTRY.get(plan.action)
        if spec is None:
            report.failed.append((plan, f"unknown action {plan.action!r}"))
            continue
        try:
            with session.begin_nested():
                report.done.append(spec.run(session, plan, actor))
        except KehuError as exc:
            report.failed.append((plan, exc.message))
    return report


# --- built-in actions ----------------------------------------------------------------------


class OpenTaskParams(BaseModel):
    """Open a task for the customer's owner (``$name``-style fields of the snapshot in title)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(default="rule", min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=300)
    due_in_days: int = Field(default=7, ge=0, le=365)


def _open_task(session: Session, plan: PlannedAction, actor: Actor) -> str:
    from kehu.customers import Customer
    from kehu.relations import open_task

    params = OpenTaskParams.model_validate(plan.params)
    customer = session.get(Customer, plan.customer_id)
    if customer is None:
        raise InvalidInputError(f"There is no customer {plan.customer_id}.")
    title = Template(params.title).safe_substitute(
        {
            "name": customer.name or f"#{customer.id}",
            **{k: str(v) for k, v in plan.evidence.items()},
        }
    )
    task = open_task(
        session,
        customer_id=customer.id,
        kind=params.kind,
        title=title,
        owner_id=customer.owner_id,
        due_at=_due(params.due_in_days),
        evidence={"rule": plan.rule, **plan.evidence},
        dedupe_key=plan.dedupe_key,
        actor=actor,
    )
    return f"task {task.id} for customer {customer.id}: {task.title}"


def _due(days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(days=days)


register_action(
    "open_task",
    OpenTaskParams,
    _open_task,
    description="Open a task for the customer's owner, once while it is open.",
)


#: The rules a new installation starts with (editable; stored in the database once seeded).
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "vip-slipping-away",
        "description": "A VIP whose probability of still being active fell below one half.",
        "when": {"all": [["tier", "eq", "vip"], ["p_alive", "lt", 0.5]]},
        "action": "open_task",
        "params": {
            "kind": "churn_risk",
            "title": "VIP $name may be slipping away (P(alive) $p_alive)",
            "due_in_days": 3,
        },
        "priority": 30,
    },
    {
        "name": "fixed-complaint-follow-up",
        "description": "Ask a valuable customer, a few days after a fix, whether all is well.",
        "when": {
            "all": [
                ["tier", "in", ["vip", "high"]],
                ["days_since_complaint_fixed", "ge", 2],
                ["days_since_complaint_fixed", "le", 7],
            ]
        },
        "action": "open_task",
        "params": {
            "kind": "follow_up",
            "title": "Check that $name is happy after the fix",
            "due_in_days": 2,
        },
        "priority": 20,
    },
    {
        "name": "valuable-without-owner",
        "description": "A VIP nobody owns (an owner left, or VIPs were not assigned).",
        "when": {"all": [["tier", "eq", "vip"], ["has_owner", "eq", False]]},
        "action": "open_task",
        "params": {
            "kind": "assign_owner",
            "title": "Give $name an account owner ($tier customer)",
            "due_in_days": 7,
        },
        "priority": 10,
    },
)


def default_rules() -> list[RuleSpec]:
    """Return :data:`DEFAULT_RULES` validated."""
    return [parse_rule(rule) for rule in DEFAULT_RULES]


# --- stored rules ----------------------------------------------------------------------------


def store_rule(session: Session, data: Mapping[str, Any], *, actor: Actor) -> RuleSpec:
    """Validate a rule document and save it (replacing a rule of the same name)."""
    from kehu.relations.rules import save_rule

    spec = parse_rule(data)
    save_rule(
        session,
        name=spec.name,
        conditions=dump_condition(spec.when),
        action=spec.action,
        params=spec.params,
        description=spec.description,
        priority=spec.priority,
        is_active=spec.is_active,
        actor=actor,
    )
    return spec


@dataclass(frozen=True)
class StoredRules:
    """The stored rules that validate today, and those that no longer do (with the reason)."""

    rules: list[RuleSpec]
    invalid: list[tuple[str, str]]


def load_rules(session: Session, *, active_only: bool = True) -> StoredRules:
    """Read the stored rules back through validation.

    A rule stored before a field or action was withdrawn is reported, not run.
    """
    from kehu.relations.rules import list_rules

    rules: list[RuleSpec] = []
    invalid: list[tuple[str, str]] = []
    for row in list_rules(session, active_only=active_only):
        try:
            rules.append(
                parse_rule(
                    {
                        "name": row.name,
                        "description": row.description,
                        "when": row.conditions,
                        "action": row.action,
                        "params": row.params,
                        "priority": row.priority,
                        "is_active": row.is_active,
                    }
                )
            )
        except InvalidInputError as exc:
            invalid.append((row.name, exc.message))
    return StoredRules(rules=rules, invalid=invalid)


def seed_default_rules(session: Session, *, actor: Actor) -> int:
    """Store :data:`DEFAULT_RULES` when no rule is stored yet; return how many were added."""
    from kehu.relations.rules import list_rules

    if list_rules(session):
        return 0
    for rule in DEFAULT_RULES:
        store_rule(session, rule, actor=actor)
    return len(DEFAULT_RULES)
