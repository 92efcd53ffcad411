"""The voice demo: real reviews as posts, a burst that raises an alert, a crisis, a poll."""

from sqlalchemy import func, select

from kehu.demo.voice import seed_voice
from kehu.voice import Crisis, Post, find_post, get_alert, get_poll, poll_tallies
from tests.factories import make_customer, make_user


def test_demo_seeds_posts_an_alert_a_crisis_and_a_poll_once(session):
    owner = make_user(session, role="owner")
    customer = make_customer(session, owner_id=owner.id)

    summary = seed_voice(session)
    again = seed_voice(session)

    assert summary.n_posts == 221
    assert summary.n_alerts >= 1
    crisis = session.get(Crisis, summary.crisis_id)
    alert = get_alert(session, crisis.alert_id)
    first = find_post(session, "weibo", "wb-burst-1")
    assert first.customer_id == customer.id
    assert alert.post_id == first.id
    assert (alert.routed_to, alert.owner_id, crisis.owner_id) == (
        "customer_owner",
        owner.id,
        owner.id,
    )
    assert crisis.checklist["facts"]["done"] is True
    assert poll_tallies(session, get_poll(session, summary.poll_id)).n_votes == 120
    assert find_post(session, "weibo", "wb-spam-2").duplicate_of_id is not None
    assert (again.n_posts, again.crisis_id, again.poll_id) == (0, None, None)
    assert session.scalar(select(func.count()).select_from(Post)) == 221
