"""Opting out of automated decisions: no recommendations served, with the reason; audited."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event as sql_event
from sqlalchemy import func, select

from kehu.audit import AuditEntry
from kehu.commerce import LineInput
from kehu.engagement import RecommendationEvent
from kehu.jobs.recommend import forget_loaded_recommender
from kehu.privacy import (
    OPTED_OUT_REASON,
    is_opted_out,
    opted_out_ids,
    set_automated_decisions_opt_out,
)
from tests.factories import ACTOR, make_customer, make_order

URL = "/api/v1/customers/{}/recommendations"


@pytest.fixture
def shop(app, session, test_settings, tmp_path):
    """Two buyers and popular items (no model trained): every customer is served something."""
    app.state.settings = test_settings.model_copy(update={"model_dir": tmp_path / "models"})
    forget_loaded_recommender()
    buyers = [make_customer(session, name=f"Buyer {i}") for i in range(2)]
    day = datetime(2010, 3, 1, 10, tzinfo=UTC)
    for n, basket in enumerate([["TEA", "CUP"], ["TEA", "POT"], ["JAM"]]):
        make_order(
            session,
            buyers[n % 2],
            ordered_at=day + timedelta(days=n),
            lines=[LineInput(sku=sku, quantity=1, unit_price=Decimal("2.00")) for sku in basket],
        )
    session.commit()
    yield buyers
    forget_loaded_recommender()


def test_an_opted_out_customer_gets_no_recommendations_and_the_reason(client, session, staff, shop):
    customer = shop[0]
    headers = staff["admin"].headers
    served = client.get(URL.format(customer.id), headers=headers)
    assert served.status_code == 200, served.text
    assert served.json()["count"] > 0
    assert served.json()["channel_closed"] is None

    put = client.put(
        f"/api/v1/customers/{customer.id}/automated-decisions",
        json={"opted_out": True, "source": "phone call"},
        headers=headers,
    )
    assert put.status_code == 200, put.text
    assert put.json()["opted_out"] is True
    before = session.scalar(select(func.count()).select_from(RecommendationEvent))

    withheld = client.get(URL.format(customer.id), headers=headers).json()
    assert withheld["data"] == []
    assert withheld["count"] == 0
    assert withheld["channel_closed"]["reason"] == OPTED_OUT_REASON
    assert withheld["n_recorded"] == 0
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(RecommendationEvent)) == before
    # The other customer is still served.
    assert client.get(URL.format(shop[1].id), headers=headers).json()["count"] > 0

    state = client.get(f"/api/v1/customers/{customer.id}/automated-decisions", headers=headers)
    assert state.json()["opted_out"] is True
    assert state.json()["source"] == "phone call"
    back = client.put(
        f"/api/v1/customers/{customer.id}/automated-decisions",
        json={"opted_out": False},
        headers=headers,
    )
    assert back.json()["opted_out"] is False
    assert client.get(URL.format(customer.id), headers=headers).json()["count"] > 0


def test_the_opt_out_check_adds_no_query_to_serving(app, client, session, staff, shop, engine):
    def count_queries(customer_id):
        seen = []

        def before(*args):
            seen.append(args[2])

        sql_event.listen(engine, "before_cursor_execute", before)
        try:
            answer = client.get(
                URL.format(customer_id) + "?channel=console", headers=staff["admin"].headers
            )
        finally:
            sql_event.remove(engine, "before_cursor_execute", before)
        assert answer.status_code == 200
        return [q for q in seen if "consents" in q or "privacy_opt_outs" in q]

    queries = count_queries(shop[0].id)
    assert len(queries) == 1  # consent and opt-out read in one statement
    assert "privacy_opt_outs" in queries[0]


def test_bad_input_is_refused_with_a_message(client, session, staff, shop):
    url = f"/api/v1/customers/{shop[0].id}/automated-decisions"
    wrong = client.put(url, json={"opted_out": "perhaps"}, headers=staff["admin"].headers)
    assert wrong.status_code == 422
    extra = client.put(url, json={"opted_out": True, "x": 1}, headers=staff["admin"].headers)
    assert extra.status_code == 422
    missing = client.put(
        "/api/v1/customers/987654/automated-decisions",
        json={"opted_out": True},
        headers=staff["admin"].headers,
    )
    assert missing.status_code == 404
    assert not is_opted_out(session, shop[0].id)


def test_setting_the_same_state_twice_is_audited_once(session):
    customer = make_customer(session)
    for _ in range(2):
        state = set_automated_decisions_opt_out(session, customer.id, opted_out=True, actor=ACTOR)
    assert state.opted_out
    assert opted_out_ids(session) == {customer.id}
    session.flush()
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == str(customer.id))
    ).all()
    assert actions.count("customer.automated_decisions_opt_out") == 1
    set_automated_decisions_opt_out(session, customer.id, opted_out=False, actor=ACTOR)
    assert opted_out_ids(session, [customer.id]) == set()
