"""Design polls: a question, two or more options, one vote per voter, tallies over time."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError, utcnow
from kehu.voice.errors import VoiceErrorCode
from kehu.voice.models import Poll, PollOption, PollVote

MAX_OPTIONS = 20


@dataclass(frozen=True)
class OptionTally:
    """One option's votes: in all, and cumulative per day."""

    option_id: int
    label: str
    votes: int
    share: float
    cumulative: list[int]


@dataclass(frozen=True)
class PollTallies:
    """A poll's tallies: per option, and the days the cumulative series run over."""

    poll_id: int
    n_votes: int
    days: list[str]
    options: list[OptionTally]


def get_poll(session: Session, poll_id: int) -> Poll:
    """Return a poll or raise :class:`NotFoundError`."""
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise NotFoundError(f"There is no poll {poll_id}.", code=VoiceErrorCode.POLL_NOT_FOUND)
    return poll


def list_polls(session: Session, *, limit: int = 50, offset: int = 0) -> tuple[Sequence[Poll], int]:
    """Return polls, newest first, and how many there are."""
    count = session.scalar(select(func.count()).select_from(Poll)) or 0
    rows = session.scalars(select(Poll).order_by(Poll.id.desc()).limit(limit).offset(offset)).all()
    return rows, count


def list_poll_options(session: Session, poll_id: int) -> Sequence[PollOption]:
    """Return a poll's options in their order."""
    return session.scalars(
        select(PollOption).where(PollOption.poll_id == poll_id).order_by(PollOption.position)
    ).all()


def create_poll(
    session: Session, *, question: str, options: Sequence[str], actor: Actor, product_key: str = ""
) -> Poll:
    """Create an open poll.

    Raises
    ------
    InvalidInputError
        For an empty question, fewer than two or more than 20 options, or repeated options.
    """
    question = question.strip()
    labels = [label.strip() for label in options]
    if not 0 < len(question) <= 500:
        raise InvalidInputError(
            "A poll needs a question of 1 to 500 characters.", code=VoiceErrorCode.BAD_POLL
        )
    if not 2 <= len(labels) <= MAX_OPTIONS or any(not 0 < len(x) <= 200 for x in labels):
        raise InvalidInputError(
            f"A poll needs 2 to {MAX_OPTIONS} options of 1 to 200 characters each.",
            code=VoiceErrorCode.BAD_POLL,
        )
    if len({x.casefold() for x in labels}) != len(labels):
        raise InvalidInputError("The options must differ.", code=VoiceErrorCode.BAD_POLL)
    poll = Poll(
        question=question,
        product_key=product_key.strip()[:200],
        is_open=True,
        created_by=actor.label,
    )
    session.add(poll)
    session.flush()
    session.add_all(
        PollOption(poll_id=poll.id, position=i, label=label) for i, label in enumerate(labels)
    )
    session.flush()
    record(
        session,
        actor=actor,
        action="voice.poll_create",
        object_type="voice_poll",
        object_id=poll.id,
        summary=question[:200],
        changes={"options": labels},
    )
    return poll


def cast_vote(
    session: Session,
    poll: Poll,
    *,
    option_id: int,
    voter: str,
    customer_id: int | None = None,
    at: datetime | None = None,
) -> tuple[PollVote, str]:
    """Record ``voter``'s vote; voting again moves it. Returns the vote and created/changed/same.

    Votes are customers' acts, not staff changes, so they are not in the audit log.

    Raises
    ------
    ConflictError
        When the poll is closed.
    InvalidInputError
        For an option of another poll or an empty voter.
    """
    if not poll.is_open:
        raise ConflictError(f"Poll {poll.id} is closed.", code=VoiceErrorCode.POLL_CLOSED)
    voter = voter.strip()
    if not 0 < len(voter) <= 200:
        raise InvalidInputError(
            "voter: give the voter's handle (1 to 200 characters).", code=VoiceErrorCode.BAD_OPTION
        )
    option = session.get(PollOption, option_id)
    if option is None or option.poll_id != poll.id:
        raise InvalidInputError(
            f"option_id: poll {poll.id} has no option {option_id}.", code=VoiceErrorCode.BAD_OPTION
        )
    vote = session.scalar(
        select(PollVote).where(PollVote.poll_id == poll.id, PollVote.voter == voter)
    )
    when = at or utcnow()
    if vote is None:
        vote = PollVote(
            poll_id=poll.id,
            option_id=option_id,
            voter=voter,
            customer_id=customer_id,
            voted_at=when,
        )
        session.add(vote)
        status = "created"
    elif vote.option_id == option_id:
        return vote, "same"
    else:
        vote.option_id, vote.voted_at = option_id, when
        status = "changed"
    session.flush()
    return vote, status


def close_poll(session: Session, poll: Poll, *, actor: Actor) -> Poll:
    """Close a poll to further votes."""
    poll.is_open = False
    session.flush()
    record(
        session, actor=actor, action="voice.poll_close", object_type="voice_poll", object_id=poll.id
    )
    return poll


def poll_tallies(session: Session, poll: Poll) -> PollTallies:
    """Return the votes per option, in all and cumulative per day (UTC) since the first vote."""
    options = list_poll_options(session, poll.id)
    votes = session.execute(
        select(PollVote.option_id, PollVote.voted_at).where(PollVote.poll_id == poll.id)
    ).all()
    day_list = sorted({when.date().isoformat() for _, when in votes})
    position = {d: i for i, d in enumerate(day_list)}
    daily = {o.id: [0] * len(day_list) for o in options}
    for option_id, when in votes:
        daily[option_id][position[when.date().isoformat()]] += 1
    total = len(votes)
    tallies = []
    for option in options:
        running, cumulative = 0, []
        for n in daily[option.id]:
            running += n
            cumulative.append(running)
        tallies.append(
            OptionTally(
                option_id=option.id,
                label=option.label,
                votes=running,
                share=round(running / total, 4) if total else 0.0,
                cumulative=cumulative,
            )
        )
    return PollTallies(poll_id=poll.id, n_votes=total, days=day_list, options=tallies)


__all__ = [
    "OptionTally",
    "PollTallies",
    "cast_vote",
    "close_poll",
    "create_poll",
    "get_poll",
    "list_poll_options",
    "list_polls",
    "poll_tallies",
]
