"""The rules engine: conditions as validated data, a pure interpreter, the action registry."""

import pytest
from pydantic import BaseModel

from kehu.core import InvalidInputError
from kehu.playbooks.rules import (
    DEFAULT_RULES,
    FIELDS,
    MAX_DEPTH,
    OPERATORS,
    dump_condition,
    evaluate,
    parse_rule,
    register_action,
    registered_actions,
)

VIP_NEGLECTED = {
    "all": [
        ["tier", "eq", "vip"],
        {"any": [["days_since_last_touch", "gt", 30], ["days_since_last_touch", "is_null"]]},
        {"not": ["has_owner", "eq", False]},
    ]
}


def _rule(when, **overrides):
    return parse_rule(
        {
            "name": overrides.pop("name", "r"),
            "when": when,
            "action": "open_task",
            "params": {"title": "Call $name"},
            **overrides,
        }
    )


@pytest.mark.parametrize(
    ("snapshot", "expected"),
    [
        ({"tier": "vip", "days_since_last_touch": 31, "has_owner": True}, True),
        ({"tier": "vip", "days_since_last_touch": 30, "has_owner": True}, False),
        ({"tier": "vip", "has_owner": True}, True),
        ({"tier": "vip", "days_since_last_touch": 90, "has_owner": False}, False),
        ({"tier": "high", "days_since_last_touch": 90, "has_owner": True}, False),
        ({"days_since_last_touch": 90, "has_owner": True}, False),
    ],
    ids=[
        "neglected_case",
        "boundary_case",
        "never_touched_case",
        "no_owner_case",
        "not_vip_case",
        "unscored_case",
    ],
)
def test_nested_condition_is_interpreted(snapshot, expected):
    rule = _rule(VIP_NEGLECTED)

    plans = evaluate([rule], [{"customer_id": 7, **snapshot}])

    assert bool(plans) is expected


def test_unknown_value_satisfies_no_comparison_but_is_null():
    rules = [
        _rule(["tier", "ne", "vip"], name="ne"),
        _rule(["clv", "lt", 10], name="lt"),
        _rule(["tier", "not_in", ["vip"]], name="not_in"),
        _rule(["clv", "is_null"], name="null"),
    ]

    plans = evaluate(rules, [{"customer_id": 1}])

    assert [p.rule for p in plans] == ["null"]


def test_plans_carry_evidence_params_and_a_dedupe_key_and_come_by_priority():
    low = _rule(["clv", "ge", 100], name="low", priority=1)
    high = _rule(["tier", "in", ["vip", "high"]], name="high", priority=9)

    plans = evaluate([low, high], [{"customer_id": 3, "clv": 250.0, "tier": "high"}])

    assert [p.rule for p in plans] == ["high", "low"]
    assert plans[1].evidence == {"clv": 250.0}
    assert plans[1].params == {"kind": "rule", "title": "Call $name", "due_in_days": 7}
    assert plans[0].dedupe_key == "rule:high:3"


def test_inactive_rules_plan_nothing():
    rule = _rule(["clv", "ge", 0], is_active=False)

    assert evaluate([rule], [{"customer_id": 1, "clv": 5}]) == []


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (["favourite_colour", "eq", "red"], "unknown field 'favourite_colour'"),
        (["clv", "like", 3], "unknown operator 'like'"),
        (["tier", "gt", "vip"], "does not apply to text field 'tier'"),
        (["clv", "gt", "a lot"], "needs a number value"),
        (["has_owner", "eq", 1], "needs a bool value"),
        (["clv", "in", []], "non-empty list"),
        (["clv", "is_null", 3], "takes no value"),
        (["clv", "gt"], "needs a number value"),
        ({"any": []}, "at least 1 item"),
        ({"either": []}, "a condition is"),
        ("tier == 'vip'", "a condition is"),
    ],
    ids=[
        "field_case",
        "operator_case",
        "kind_case",
        "number_case",
        "bool_case",
        "empty_in_case",
        "null_value_case",
        "missing_value_case",
        "empty_any_case",
        "unknown_node_case",
        "string_case",
    ],
)
def test_invalid_conditions_are_refused_with_the_reason(when, message):
    with pytest.raises(InvalidInputError, match="not valid") as caught:
        _rule(when)

    assert message in caught.value.message


def test_deep_nesting_is_refused():
    when: object = ["clv", "gt", 1]
    for _ in range(MAX_DEPTH + 1):
        when = {"not": when}

    with pytest.raises(InvalidInputError, match="nest at most"):
        _rule(when)


def test_unknown_action_and_bad_params_are_refused():
    with pytest.raises(InvalidInputError, match="unknown action 'send_fax'"):
        parse_rule({"name": "r", "when": {"all": []}, "action": "send_fax"})
    with pytest.raises(InvalidInputError, match="due_in_days"):
        parse_rule(
            {
                "name": "r",
                "when": {"all": []},
                "action": "open_task",
                "params": {"title": "x", "due_in_days": -1},
            }
        )


def test_dumped_condition_parses_back_to_the_same_rule():
    rule = _rule(VIP_NEGLECTED)

    again = _rule(dump_condition(rule.when))

    assert again == rule
    assert dump_condition(rule.when) == VIP_NEGLECTED


def test_registration_checks_at_the_door():
    class Params(BaseModel):
        note: str

    with pytest.raises(ValueError, match="snake_case"):
        register_action("Send Fax", Params, lambda *_: "")
    with pytest.raises(ValueError, match="already registered"):
        register_action("open_task", Params, lambda *_: "")
    with pytest.raises(TypeError, match="pydantic model"):
        register_action("send_fax", dict, lambda *_: "")
    with pytest.raises(TypeError, match="callable"):
        register_action("send_fax", Params, "not a function")

    assert "send_fax" not in registered_actions()


def test_every_field_has_operators_and_default_rules_validate():
    kinds = {kind for kind, _ in FIELDS.values()}

    assert all(any(kind in ops for ops in OPERATORS.values()) for kind in kinds)
    assert [parse_rule(r).name for r in DEFAULT_RULES] == [r["name"] for r in DEFAULT_RULES]
