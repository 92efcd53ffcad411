"""Open tickets follow their SLA inputs: policy targets, hours and holidays, the category's
policy (own or inherited), a CSV import, a new default policy and the customer's tier."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import event

from kehu.service import (
    TicketStatus,
    add_message,
    create_category,
    create_ticket,
    get_ticket,
    import_categories_csv,
    link_customer,
    list_events,
    recompute_due_times,
    save_sla_policy,
    set_ticket_status,
    update_category,
)
from kehu.value.models import CustomerValue, ValueRun, ValueTier
from tests.factories import ACTOR, make_customer
from tests.factories.service import make_desk, make_ticket

OPENED = datetime(2026, 11, 23, 9, tzinfo=UTC)  # a Monday
FAST = {"default": {"first_response_minutes": 30, "resolution_minutes": 300}}


def _due(ticket):
    return ticket.first_response_due_at, ticket.resolution_due_at


def _after(*minutes):
    return tuple(OPENED + timedelta(minutes=m) for m in minutes)


def test_changing_a_policys_targets_moves_open_tickets_only(session):
    desk = make_desk(session)
    waiting = make_ticket(session, category_code="card_arrival", opened_at=OPENED)
    answered = make_ticket(session, category_code="card_arrival", opened_at=OPENED)
    add_message(
        session,
        answered,
        body="On its way.",
        author_kind="agent",
        actor=ACTOR,
        sent_at=OPENED + timedelta(minutes=10),
    )
    done = make_ticket(session, category_code="card_arrival", opened_at=OPENED)
    set_ticket_status(session, done, TicketStatus.RESOLVED, actor=ACTOR)
    assert _due(waiting) == _after(240, 2880)

    save_sla_policy(
        session,
        code="standard",
        policy=desk.policy,
        targets={"default": {"first_response_minutes": 120, "resolution_minutes": 1440}},
        actor=ACTOR,
    )

    assert _due(waiting) == _after(120, 1440)
    assert _due(answered) == _after(240, 1440)  # the kept first-response promise stays
    assert _due(done) == _after(240, 2880)  # resolved: measured as it was
    assert [(e.kind, e.new) for e in list_events(session, waiting.id)][-1] == (
        "sla",
        (OPENED + timedelta(minutes=1440)).isoformat(timespec="minutes"),
    )


def test_business_hours_and_holidays_move_due_times(session):
    desk = make_desk(session)
    ticket = make_ticket(session, category_code="card_arrival", opened_at=OPENED)

    save_sla_policy(
        session,
        code="standard",
        policy=desk.policy,
        business_hours={str(d): ["09:00", "18:00"] for d in range(1, 6)},
        holidays=["2026-11-23"],
        actor=ACTOR,
    )

    # Monday is a holiday: 4 business hours run from Tuesday 09:00; 48 are Tuesday to Friday
    # and the next Monday (5 days of 9 h), then 3 h on the next Tuesday.
    tuesday = OPENED + timedelta(days=1)
    assert ticket.first_response_due_at == tuesday + timedelta(hours=4)
    assert ticket.resolution_due_at == datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_giving_a_category_a_policy_moves_its_subtree_and_moving_a_leaf_moves_it(session):
    make_desk(session)
    save_sla_policy(session, code="fast", targets=FAST, actor=ACTOR)
    in_card = make_ticket(session, category_code="card_arrival", opened_at=OPENED)
    refund = make_ticket(session, category_code="request_refund", opened_at=OPENED)
    assert _due(refund) == (None, None)  # no policy up its tree, no default

    card = update_category(
        session,
        get_category_by_code(session, "card"),
        sla_policy_code="fast",
        actor=ACTOR,
    )
    assert _due(in_card) == _after(30, 300)  # inherited from the parent
    assert _due(refund) == (None, None)

    update_category(
        session, get_category_by_code(session, "request_refund"), parent_code="card", actor=ACTOR
    )
    assert refund.sla_policy_id == card.sla_policy_id
    assert _due(refund) == _after(30, 300)

    update_category(session, card, sla_policy_code="", actor=ACTOR)
    assert _due(in_card) == (None, None)


def get_category_by_code(session, code):
    from kehu.service import find_category_by_code

    return find_category_by_code(session, code)


def test_a_csv_import_that_changes_policies_moves_open_tickets(session):
    make_desk(session)
    save_sla_policy(session, code="fast", targets=FAST, actor=ACTOR)
    ticket = make_ticket(session, category_code="exchange_rate", opened_at=OPENED)

    report = import_categories_csv(
        session,
        b"code,name,parent_code,sla_policy_code\nexchange_rate,Exchange rate,money,fast\n",
        actor=ACTOR,
        all_or_nothing=True,
    )

    assert report.applied
    assert _due(ticket) == _after(30, 300)


def test_a_new_default_policy_gives_clockless_open_tickets_a_clock(session):
    make_desk(session)
    refund = make_ticket(session, category_code="request_refund", opened_at=OPENED)
    waiting = make_ticket(session, opened_at=OPENED)
    assert _due(refund) == _due(waiting) == (None, None)

    default = save_sla_policy(session, code="default", targets=FAST, actor=ACTOR)

    assert (refund.sla_policy_id, waiting.sla_policy_id) == (default.id, default.id)
    assert _due(refund) == _due(waiting) == _after(30, 300)


def _statements(connection, call):
    seen = []

    def remember(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", remember)
    try:
        call()
    finally:
        event.remove(connection, "before_cursor_execute", remember)
    return len(seen)


def test_recomputing_is_set_wise_not_a_statement_per_ticket(session, connection):
    desk = make_desk(session)
    for leaf in ("card_arrival", "lost_or_stolen_card"):
        make_ticket(session, category_code=leaf, opened_at=OPENED)
    session.flush()

    def change(first):
        return lambda: save_sla_policy(
            session,
            code="standard",
            policy=desk.policy,
            targets={"default": {"first_response_minutes": first, "resolution_minutes": 2880}},
            actor=ACTOR,
        )

    few = _statements(connection, change(100))
    for n in range(40):
        leaf = ("card_arrival", "lost_or_stolen_card")[n % 2]
        make_ticket(session, category_code=leaf, opened_at=OPENED + timedelta(minutes=n))
    session.flush()
    many = _statements(connection, change(200))

    assert many == few
    assert recompute_due_times(session, actor=ACTOR, policy_ids=[desk.policy.id]) == 0


def _vip(session, customer):
    run = ValueRun(status="succeeded")
    session.add(run)
    session.flush()
    session.add(
        CustomerValue(
            customer_id=customer.id,
            run_id=run.id,
            frequency=3,
            recency=1.0,
            T=10.0,
            monetary_value=Decimal("10.00"),
            p_alive=0.9,
            expected_purchases=1.5,
            expected_spend=Decimal("15.00"),
            clv=Decimal("900.00"),
            value_rank=1,
            value_percentile=100.0,
            tier=ValueTier.VIP,
            rfm_r=5,
            rfm_f=5,
            rfm_m=5,
            rfm_segment="champions",
            total_spend=Decimal("500.00"),
        )
    )
    session.flush()


def test_linking_a_vip_gives_their_open_tickets_the_vip_promise(session):
    make_desk(session)
    customer = make_customer(session, name="Ada")
    _vip(session, customer)
    fields = {"requester": "ada@mail.test", "channel": "email", "actor": ACTOR}
    first = create_ticket(
        session, body="My card?", category_code="card_arrival", opened_at=OPENED, **fields
    )
    second = create_ticket(
        session, body="Still no card", category_code="card_arrival", opened_at=OPENED, **fields
    )
    old = create_ticket(
        session, body="Thanks", category_code="card_arrival", opened_at=OPENED, **fields
    )
    set_ticket_status(session, old, TicketStatus.RESOLVED, actor=ACTOR)
    assert (first.tier, _due(first)) == ("default", _after(240, 2880))

    link_customer(session, first, customer.id, actor=ACTOR)
    session.expire_all()

    first, second, old = (get_ticket(session, t) for t in (first.id, second.id, old.id))
    assert (first.tier, second.tier, old.tier) == ("vip", "vip", "default")
    assert _due(first) == _due(second) == _after(60, 480)
    assert _due(old) == _after(240, 2880)
    kinds = [e.kind for e in list_events(session, first.id)]
    assert kinds[-3:] == ["customer", "tier", "sla"]


def test_an_unchanged_tree_recomputes_nothing(session):
    make_desk(session)
    make_ticket(session, category_code="card_arrival", opened_at=OPENED)
    create_category(session, code="other", name="Other", actor=ACTOR)

    assert recompute_due_times(session, actor=ACTOR, category_ids=[]) == 0
    assert recompute_due_times(session, actor=ACTOR, policy_ids=[10**6]) == 0


def test_renaming_a_policy_leaves_due_times_and_events_alone(session):
    desk = make_desk(session)
    ticket = make_ticket(session, category_code="card_arrival", opened_at=OPENED)
    before = [e.kind for e in list_events(session, ticket.id)]

    save_sla_policy(session, code="standard", policy=desk.policy, name="Renamed", actor=ACTOR)

    assert _due(ticket) == _after(240, 2880)
    assert [e.kind for e in list_events(session, ticket.id)] == before


def test_a_customer_who_became_vip_gets_the_vip_promise_on_open_tickets(session):
    from kehu.service import retier_open_tickets

    make_desk(session)
    customer = make_customer(session, name="Ada")
    other = make_customer(session, name="Bob")
    fields = {"customer_id": customer.id, "category_code": "card_arrival", "opened_at": OPENED}
    waiting = make_ticket(session, **fields)
    done = make_ticket(session, **fields)
    set_ticket_status(session, done, TicketStatus.RESOLVED, actor=ACTOR)
    bobs = make_ticket(session, customer_id=other.id, category_code="card_arrival")
    assert retier_open_tickets(session, actor=ACTOR) == 0

    _vip(session, customer)

    assert retier_open_tickets(session, actor=ACTOR, customer_ids=[other.id]) == 0
    assert retier_open_tickets(session, actor=ACTOR) == 1
    assert (waiting.tier, _due(waiting)) == ("vip", _after(60, 480))
    assert (done.tier, _due(done)) == ("default", _after(240, 2880))
    assert bobs.tier == "default"
    assert [e.kind for e in list_events(session, waiting.id)][-2:] == ["tier", "sla"]
    assert retier_open_tickets(session, actor=ACTOR) == 0
