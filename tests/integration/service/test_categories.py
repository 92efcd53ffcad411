"""The category tree: CSV import (100+ leaves, any order, per-row report), edits, answers."""

from pathlib import Path

import pytest

from kehu.core import ConflictError, InvalidInputError
from kehu.service import (
    category_paths,
    create_category,
    find_canonical_answer,
    find_category_by_code,
    import_categories_csv,
    leaf_ids,
    list_answer_versions,
    list_categories,
    save_sla_policy,
    set_canonical_answer,
    update_category,
)
from kehu.users import create_department
from tests.factories import ACTOR

DATA = Path(__file__).parents[2] / "data" / "service"
TARGETS = {"default": {"first_response_minutes": 240, "resolution_minutes": 2880}}


@pytest.fixture
def departments(session):
    for code in ("service", "billing", "logistics", "sales"):
        create_department(session, code=code, name=code.title(), actor=ACTOR)
    for code in ("standard", "urgent"):
        save_sla_policy(session, code=code, targets=TARGETS, actor=ACTOR)


def test_the_demo_tree_loads_from_csv_with_more_than_100_leaves(session, departments):
    report = import_categories_csv(session, (DATA / "categories.csv").read_bytes(), actor=ACTOR)

    assert (report.n_rows, report.n_created, report.n_updated, report.errors) == (114, 114, 0, [])
    assert len(leaf_ids(session)) == 103
    arrival = find_category_by_code(session, "card_arrival")
    assert arrival is not None
    assert category_paths(session)[arrival.id] == "Cards 银行卡 / Card arrival"


def test_rows_may_come_children_first_and_reimport_updates(session, departments):
    data = b"code,name,parent_code\nleaf,Leaf,top\ntop,Top,\n"
    first = import_categories_csv(session, data, actor=ACTOR)
    again = import_categories_csv(session, data.replace(b"Leaf,", b"Leaf two,"), actor=ACTOR)

    assert (first.n_created, first.errors) == (2, [])
    assert (again.n_created, again.n_updated) == (0, 2)
    leaf = find_category_by_code(session, "leaf")
    assert leaf is not None
    assert leaf.name == "Leaf two"
    assert leaf_ids(session) == {leaf.id}


def test_bad_rows_are_reported_by_line_and_the_rest_load(session, departments):
    data = (
        b"code,name,parent_code,department_code,sla_policy_code\n"
        b"a,A,,,\n"
        b"b,B,missing,,\n"
        b"c,C,a,nowhere,\n"
        b"d,D,a,,nopolicy\n"
        b",E,a,,\n"
        b"f,F,a,billing,urgent\n"
    )

    report = import_categories_csv(session, data, actor=ACTOR)

    assert [(e.line, e.message) for e in report.errors] == [
        (3, "Parent 'missing' of 'b' does not exist."),
        (4, "There is no department with code 'nowhere'."),
        (5, "There is no SLA policy with code 'nopolicy'."),
        (6, "A category needs a code of 1 to 128 characters."),
    ]
    assert {c.code for c in list_categories(session)} == {"a", "f"}


def test_a_parent_cycle_in_the_file_is_reported(session, departments):
    report = import_categories_csv(session, b"code,parent_code\nx,y\ny,x\n", actor=ACTOR)

    assert [e.line for e in report.errors] == [3]
    assert "descendants" in report.errors[0].message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"name\nA\n", "needs a 'code' column", id="no_code_case"),
        pytest.param(b"\xff\xfe\x00\x81" * 100, "UTF-8", id="binary_case"),
    ],
)
def test_a_file_that_is_not_a_category_csv_is_refused(session, data, message):
    with pytest.raises(InvalidInputError, match=message):
        import_categories_csv(session, data, actor=ACTOR)


def test_edits_refuse_duplicates_unknown_parents_and_cycles(session, departments):
    top = create_category(session, code="top", name="Top", actor=ACTOR)
    child = create_category(session, code="child", name="Child", parent_code="top", actor=ACTOR)

    with pytest.raises(ConflictError):
        create_category(session, code="top", name="Again", actor=ACTOR)
    with pytest.raises(InvalidInputError, match="no category 'nope'"):
        create_category(session, code="x", name="X", parent_code="nope", actor=ACTOR)
    with pytest.raises(InvalidInputError, match="descendants"):
        update_category(session, top, parent_code="child", actor=ACTOR)

    update_category(session, child, is_active=False, actor=ACTOR)
    assert leaf_ids(session) == {top.id}


def test_answers_are_versioned_and_inherited_from_the_nearest_ancestor(session):
    top = create_category(session, code="top", name="Top", actor=ACTOR)
    child = create_category(session, code="child", name="Child", parent_code="top", actor=ACTOR)
    assert find_canonical_answer(session, child.id) is None

    set_canonical_answer(session, top, body="Parent answer", actor=ACTOR)
    assert find_canonical_answer(session, child.id).body == "Parent answer"
    set_canonical_answer(session, child, body="First", actor=ACTOR)
    set_canonical_answer(session, child, body="Second", note="clearer", actor=ACTOR)

    versions = list_answer_versions(session, child.id)
    assert [(a.version, a.body, a.is_current) for a in versions] == [
        (2, "Second", True),
        (1, "First", False),
    ]
    assert find_canonical_answer(session, child.id).body == "Second"
    with pytest.raises(InvalidInputError, match="empty"):
        set_canonical_answer(session, child, body="  ", actor=ACTOR)
