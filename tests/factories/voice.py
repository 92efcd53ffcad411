"""Voice factories: one negative post with an alert, a crisis, a demand term and a poll."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.voice import (
    PollOption,
    PostIn,
    RiskInput,
    add_term,
    create_poll,
    open_crisis,
    raise_alert,
    save_sentiments,
    spread_risk,
    upsert_post,
)
from tests.factories import ACTOR


def make_voice(session: Session) -> dict[str, int]:
    """Create the records every voice route can act on; return their ids by kind."""
    post, _ = upsert_post(
        session,
        PostIn(
            platform="weibo",
            external_id="W-matrix",
            author_handle="fridge_owner",
            posted_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
            author_followers=12000,
            reposts=35,
            comments=12,
            text="冰箱门又坏了 客服一直不回复",
        ),
    )
    save_sentiments(session, {post.id: 0.05})
    alert = raise_alert(
        session, post, spread_risk(RiskInput(0.05, 12000, 35, 12, 2.0, 5)), actor=ACTOR
    )
    assert alert is not None
    crisis = open_crisis(session, actor=ACTOR, title="Fridge doors", post_id=post.id)
    term = add_term(session, attribute="colour", value="white", term="白色", actor=ACTOR)
    poll = create_poll(session, question="Which colour?", options=["White", "Black"], actor=ACTOR)
    session.flush()
    return {
        "post": post.id,
        "alert": alert.id,
        "crisis": crisis.id,
        "term": term.id,
        "poll": poll.id,
        "option": session.scalars(
            select(PollOption.id).where(PollOption.poll_id == poll.id).order_by(PollOption.position)
        ).first()
        or 0,
    }
