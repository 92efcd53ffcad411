"""Voice scoring on a schedule inside ``kehu serve``: turns score new posts, skip, survive, stop."""

import time
from pathlib import Path
from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kehu.app import create_app
from kehu.core import Actor
from kehu.ingest import run_import
from kehu.jobs.schedule import PeriodicJob, start_jobs, stop_jobs
from kehu.jobs.voice import voice_turn
from kehu.voice import Post

DATA = Path(__file__).parents[2] / "data" / "voice"
ACTOR = Actor(kind="system", label="test")


def _import(session):
    path = DATA / "posts.csv"
    run_import(session, kind="posts", data=path.read_bytes(), filename=path.name, actor=ACTOR)
    session.commit()


def _unscored(session):
    return session.scalar(select(func.count()).where(Post.sentiment_at.is_(None)))


def test_a_turn_scores_new_posts_and_commits(session_factory, session):
    _import(session)
    assert _unscored(session) == 24
    assert voice_turn(session_factory) == "succeeded"

    session.expire_all()
    assert _unscored(session) == 0
    assert session.scalar(select(func.count()).where(Post.sentiment < 0.5)) >= 9


def test_a_turn_is_skipped_while_one_runs(session_factory, session):
    _import(session)
    scheduler = PeriodicJob("voice", 3600, lambda: voice_turn(session_factory))
    scheduler._running.acquire()
    try:
        assert scheduler.run_once() == "skipped"
    finally:
        scheduler._running.release()
    assert _unscored(session) == 24


def test_an_error_is_logged_not_raised(caplog):
    def broken_factory():
        raise RuntimeError("database gone")

    assert PeriodicJob("voice", 3600, lambda: voice_turn(broken_factory)).run_once() == "error"
    assert "scheduled voice crashed" in caplog.text


def test_the_thread_scores_posts_within_its_period(session_factory, session, test_settings):
    _import(session)
    app = SimpleNamespace(
        state=SimpleNamespace(
            settings=test_settings.model_copy(
                update={"voice_score_every_minutes": 0.002, "analyze_every_hours": 0}
            ),
            session_factory=session_factory,
        )
    )
    scheduler = start_jobs(app)["voice"]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            session.expire_all()
            if _unscored(session) == 0:
                break
            time.sleep(0.1)
    finally:
        stop_jobs(app)
    assert _unscored(session) == 0
    assert not scheduler.alive


def test_the_off_switch_and_serve_lifespan(session_factory, test_settings):
    off = SimpleNamespace(
        state=SimpleNamespace(
            settings=test_settings.model_copy(update={"voice_score_every_minutes": 0}),
            session_factory=session_factory,
        )
    )
    assert "voice" not in start_jobs(off)
    stop_jobs(off)

    app = create_app(test_settings, session_factory)
    with TestClient(app):
        scheduler = app.state.jobs["voice"]
        assert scheduler.every_s == test_settings.voice_score_every_minutes * 60
        assert scheduler.alive
    assert app.state.jobs == {}
    assert not scheduler.alive
