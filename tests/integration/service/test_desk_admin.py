"""Keeping the desk: all-or-nothing category import, retiring leaves, SLA policy text forms,
and linking a ticket from an unknown sender to a customer."""

import pytest

from kehu.core import ConflictError, InvalidInputError
from kehu.customers import find_customer_by_identity, list_identities
from kehu.service import (
    create_ticket,
    format_business_hours,
    format_targets,
    get_ticket,
    import_categories_csv,
    link_customer,
    list_categories,
    list_events,
    parse_business_hours,
    parse_targets,
    update_category,
)
from tests.factories import ACTOR, make_customer
from tests.factories.service import make_desk


def test_an_all_or_nothing_import_with_one_bad_row_writes_nothing(session):
    make_desk(session)
    before = {c.code: c.name for c in list_categories(session, include_inactive=True)}
    data = (
        b"code,name,parent_code,department_code\n"
        b"new_top,New top,,cards\n"
        b"new_leaf,New leaf,new_top,billing\n"
        b"card_arrival,Renamed,card,\n"
        b"broken,Broken,,nowhere\n"
    )

    report = import_categories_csv(session, data, actor=ACTOR, all_or_nothing=True)

    assert not report.applied
    assert (report.n_rows, report.n_created, report.n_updated) == (4, 0, 0)
    assert [(e.line, e.message) for e in report.errors] == [
        (5, "There is no department with code 'nowhere'.")
    ]
    assert {c.code: c.name for c in list_categories(session, include_inactive=True)} == before


def test_an_all_or_nothing_import_without_errors_loads_every_row(session):
    make_desk(session)
    data = b"code,name,parent_code\nnew_leaf,New leaf,new_top\nnew_top,New top,\n"

    report = import_categories_csv(session, data, actor=ACTOR, all_or_nothing=True)

    assert report.applied
    assert (report.n_created, report.errors) == (2, [])
    codes = {c.code for c in list_categories(session)}
    assert {"new_top", "new_leaf", "card_arrival"} <= codes


def test_a_category_with_active_children_cannot_be_retired(session):
    desk = make_desk(session)

    with pytest.raises(InvalidInputError, match="active sub-categories"):
        update_category(session, desk.parents["card"], is_active=False, actor=ACTOR)
    update_category(session, desk.leaves["card_arrival"], is_active=False, actor=ACTOR)
    update_category(session, desk.leaves["lost_or_stolen_card"], is_active=False, actor=ACTOR)
    update_category(session, desk.parents["card"], is_active=False, actor=ACTOR)

    assert not desk.parents["card"].is_active


def test_sla_text_forms_round_trip_and_name_the_bad_line():
    hours = parse_business_hours("1 09:00-18:00\n\n 5 08:30-17:00 \n")
    targets = parse_targets("vip 60 480\ndefault 240 2880\n")

    assert hours == {"1": ["09:00", "18:00"], "5": ["08:30", "17:00"]}
    assert parse_business_hours(format_business_hours(hours)) == hours
    assert format_targets(targets) == "default 240 2880\nvip 60 480"
    assert parse_targets(format_targets(targets)) == targets
    assert parse_business_hours("") == {}
    with pytest.raises(InvalidInputError, match=r"line 2 .*'8 09:00-18:00'"):
        parse_business_hours("1 09:00-18:00\n8 09:00-18:00")
    with pytest.raises(InvalidInputError, match=r"line 1 .*'vip sixty 480'"):
        parse_targets("vip sixty 480")
    with pytest.raises(InvalidInputError, match="'default' tier"):
        parse_targets("vip 60 480")


def test_linking_an_unknown_sender_teaches_kehu_who_they_are(session):
    make_desk(session)
    customer = make_customer(session, name="Ada")
    first = create_ticket(
        session, body="Where is my card?", requester="ada@mail.test", channel="email", actor=ACTOR
    )
    second = create_ticket(
        session, body="Any news?", requester="ada@mail.test", channel="email", actor=ACTOR
    )
    stranger = create_ticket(
        session, body="Hello", requester="bob@mail.test", channel="email", actor=ACTOR
    )
    assert first.customer_id is None

    linked = link_customer(session, first, customer.id, actor=ACTOR)

    assert [t.id for t in linked] == [first.id, second.id]
    assert (first.customer_id, second.customer_id, stranger.customer_id) == (
        customer.id,
        customer.id,
        None,
    )
    assert ("email", "ada@mail.test") in {
        (i.kind, i.value) for i in list_identities(session, customer.id)
    }
    assert find_customer_by_identity(session, "email", "ada@mail.test").id == customer.id
    assert [(e.kind, e.new) for e in list_events(session, first.id)][-1] == (
        "customer",
        str(customer.id),
    )
    later = create_ticket(
        session, body="Thanks!", requester="ada@mail.test", channel="email", actor=ACTOR
    )
    assert later.customer_id == customer.id


def test_linking_without_remembering_the_sender_changes_one_ticket(session):
    make_desk(session)
    customer = make_customer(session, name="Ada")
    known = [(i.kind, i.value) for i in list_identities(session, customer.id)]
    first = create_ticket(
        session, body="Card?", requester="+44 20 7946 0000", channel="email", actor=ACTOR
    )
    second = create_ticket(
        session, body="Card!", requester="+44 20 7946 0000", channel="email", actor=ACTOR
    )

    linked = link_customer(session, first, customer.id, remember_sender=False, actor=ACTOR)

    assert [t.id for t in linked] == [first.id]
    assert get_ticket(session, second.id).customer_id is None
    assert [(i.kind, i.value) for i in list_identities(session, customer.id)] == known


def test_a_sender_that_is_another_customers_or_no_customer_is_refused(session):
    make_desk(session)
    owner = make_customer(session, name="Owner", identities=[("email", "shared@mail.test")])
    other = make_customer(session, name="Other")
    ticket = create_ticket(session, body="Card?", channel="email", actor=ACTOR)
    ticket.requester = "shared@mail.test"  # the identity was added after the mail came in
    ticket.customer_id = None

    with pytest.raises(ConflictError, match=f"already belongs to customer {owner.id}"):
        link_customer(session, ticket, other.id, actor=ACTOR)
    with pytest.raises(InvalidInputError, match="no customer 999999"):
        link_customer(session, ticket, 999_999, actor=ACTOR)
