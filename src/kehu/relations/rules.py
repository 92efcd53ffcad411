"""Stored playbook rules (validated by :mod:`kehu.playbooks.rules` before they get here)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, NotFoundError
from kehu.relations.errors import RelationsErrorCode
from kehu.relations.models import Rule


def list_rules(session: Session, *, active_only: bool = False) -> Sequence[Rule]:
    """Return the stored rules, highest priority first."""
    query = select(Rule)
    if active_only:
        query = query.where(Rule.is_active.is_(True))
    return session.scalars(query.order_by(Rule.priority.desc(), Rule.name)).all()


def get_rule(session: Session, rule_id: int) -> Rule:
    """Return the rule or raise :class:`NotFoundError`."""
    rule = session.get(Rule, rule_id)
    if rule is None:
        raise NotFoundError(f"There is no rule {rule_id}.", code=RelationsErrorCode.RULE_NOT_FOUND)
    return rule


def save_rule(
    session: Session,
    *,
    name: str,
    conditions: dict[str, Any] | list[Any],
    action: str,
    params: dict[str, Any],
    actor: Actor,
    description: str = "",
    priority: int = 0,
    is_active: bool = True,
) -> Rule:
    """Create the rule named ``name`` or replace its definition (validate it first)."""
    rule = session.scalar(select(Rule).where(Rule.name == name))
    created = rule is None
    if rule is None:
        rule = Rule(name=name)
        session.add(rule)
    before = None if created else {"conditions": rule.conditions, "action": rule.action}
    # A bare comparison is stored inside "all" so the column always holds an object.
    rule.conditions = conditions if isinstance(conditions, dict) else {"all": [conditions]}
    rule.action = action
    rule.params = dict(params)
    rule.description = description
    rule.priority = priority
    rule.is_active = is_active
    session.flush()
    record(
        session,
        actor=actor,
        action="rule.create" if created else "rule.update",
        object_type="rule",
        object_id=rule.id,
        summary=f"{name}: {action}",
        changes={"before": before, "after": {"conditions": rule.conditions, "action": action}},
    )
    return rule


def set_rule_active(session: Session, rule_id: int, *, is_active: bool, actor: Actor) -> Rule:
    """Switch a rule on or off."""
    rule = get_rule(session, rule_id)
    rule.is_active = is_active
    session.flush()
    record(
        session,
        actor=actor,
        action="rule.enable" if is_active else "rule.disable",
        object_type="rule",
        object_id=rule.id,
        summary=rule.name,
    )
    return rule
