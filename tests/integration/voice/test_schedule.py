"""Voice scoring on a schedule inside ``kehu serve``: turns score new posts, skip, survive, stop."""

import time
from pathlib import Path
from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kehu.app import create_app
from kehu.core import Actor
from kehu.ingest import run_import
from kehu.jobs.voice import VoiceScheduler, start_voice_scheduler, stop_voice_scheduler
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
    scheduler = VoiceScheduler(session_factory, every_s=3600)

    assert scheduler.run_once() == "succeeded"

    session.expire_all()
    assert _unscored(session) == 0
    assert session.scalar(select(func.count()).where(Post.sentiment < 0.5)) >= 9


def test_a_turn_is_skipped_while_one_runs(session_factory, session):
    _import(session)
    scheduler = VoiceScheduler(session_factory, every_s=3600)
    scheduler._running.acquire()
    try:
        assert scheduler.run_once() == "skipped"
    finally:
        scheduler._running.release()
    assert _unscored(session) == 24


def test_an_error_is_logged_not_raised(caplog):
    def broken_factory():
        raise RuntimeError("database gone")

    assert VoiceScheduler(broken_factory, every_s=3600).run_once() == "error"
    assert "scheduled voice scoring crashed" in caplog.text


def test_the_thread_scores_posts_within_its_period(session_factory, session, test_settings):
    _import(session)
    app = SimpleNamespace(
        state=SimpleNamespace(
            settings=test_settings.model_copy(update={"voice_score_every_minutes": 0.002}),
            session_factory=session_factory,
        )
    )
    scheduler = start_voice_scheduler(app)
    assert scheduler is not None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            session.expire_all()
            if _unscored(session) == 0:
                break
            time.sleep(0.1)
    finally:
        stop_voice_scheduler(app)
    assert _unscored(session) == 0
    assert not scheduler._thread.is_alive()


def test_the_off_switch_and_serve_lifespan(session_factory, test_settings):
    off = SimpleNamespace(
        state=SimpleNamespace(
            settings=test_settings.model_copy(update={"voice_score_every_minutes": 0}),
            session_factory=session_factory,
        )
    )
    assert start_voice_scheduler(off) is None
    stop_voice_scheduler(off)  # nothing to stop: no error

    app = create_app(test_settings, session_factory)
    with TestClient(app):
        scheduler = app.state.voice_scheduler
        assert scheduler is not None
        assert scheduler.every_s == test_settings.voice_score_every_minutes * 60
        assert scheduler._thread.is_alive()
    assert app.state.voice_scheduler is None
    assert not scheduler._thread.is_alive()
