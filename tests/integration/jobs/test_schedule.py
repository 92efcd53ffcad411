"""The periodic job runner of `kehu serve`: turns, skips, failures, stop, what is scheduled."""

import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kehu.app import create_app
from kehu.core import Actor
from kehu.health import HealthRun
from kehu.jobs.schedule import (
    PeriodicJob,
    analysis_turn,
    health_turn,
    start_jobs,
    stop_jobs,
    value_turn,
)
from kehu.value import ValueRun
from tests.factories import make_value_run

ALL_OFF = {
    "analyze_every_hours": 0,
    "health_every_minutes": 0,
    "relations_every_minutes": 0,
    "voice_score_every_minutes": 0,
}


def _wait(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_the_thread_runs_turns_each_period_until_stopped():
    turns = []
    job = PeriodicJob("counter", 0.01, lambda: turns.append(time.monotonic()) or "succeeded")

    job.start()
    assert _wait(lambda: len(turns) >= 3)
    job.stop()

    assert not job.alive
    n = len(turns)
    time.sleep(0.05)
    assert len(turns) == n  # no turn after stop
    assert job.turns == n
    assert job.last_result == "succeeded"


def test_a_turn_is_skipped_while_one_runs():
    release = threading.Event()
    started = threading.Event()

    def slow():
        started.set()
        release.wait(5)
        return "succeeded"

    job = PeriodicJob("slow", 3600, slow)
    worker = threading.Thread(target=job.run_once)
    worker.start()
    assert started.wait(5)
    try:
        assert job.run_once() == "skipped"
    finally:
        release.set()
        worker.join(5)
    assert job.last_result == "succeeded"


def test_an_error_is_logged_not_raised(caplog):
    def broken():
        raise RuntimeError("database gone")

    job = PeriodicJob("broken", 3600, broken)

    assert job.run_once() == "error"
    assert "scheduled broken crashed" in caplog.text
    assert job.run_once() == "error"  # the lock was released: the next turn runs again


def test_a_period_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        PeriodicJob("never", 0, lambda: "succeeded")


def test_a_value_turn_runs_the_analysis_and_commits(
    session_factory, session, test_settings, history
):
    session.commit()

    assert value_turn(session_factory, test_settings) == "succeeded"
    assert session.scalar(select(func.count()).select_from(ValueRun)) == 1


def test_a_value_turn_without_data_fails_quietly(session_factory, session, test_settings):
    assert value_turn(session_factory, test_settings) == "failed"
    assert session.scalar(select(ValueRun.status)) == "failed"


def test_a_value_turn_is_skipped_while_the_store_has_a_run(session_factory, session, test_settings):
    make_value_run(session, actor=Actor.system("elsewhere"))
    session.commit()

    assert value_turn(session_factory, test_settings) == "skipped"
    assert session.scalar(select(func.count()).select_from(ValueRun)) == 1


def test_the_analysis_chain_scores_value_then_health_then_playbooks(
    session_factory, session, test_settings, history, caplog
):
    session.commit()
    caplog.set_level("INFO", logger="kehu.jobs.schedule")

    assert analysis_turn(session_factory, test_settings) == "succeeded"

    assert session.scalar(select(ValueRun.status)) == "succeeded"
    assert session.scalar(select(HealthRun.status)) == "succeeded"
    assert "scheduled playbooks: 120 customers" in caplog.text


def test_health_waits_for_value_in_the_chain(session_factory, session, test_settings):
    assert analysis_turn(session_factory, test_settings) == "failed"  # no orders: value fails
    assert session.scalar(select(func.count()).select_from(HealthRun)) == 0


def test_a_health_turn_on_its_own(session_factory, session, test_settings, history):
    session.commit()
    assert value_turn(session_factory, test_settings) == "succeeded"

    assert health_turn(session_factory, test_settings) == "succeeded"
    assert session.scalar(select(func.count()).select_from(HealthRun)) == 1


def _app(session_factory, settings):
    from types import SimpleNamespace

    return SimpleNamespace(
        state=SimpleNamespace(settings=settings, session_factory=session_factory)
    )


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({}, set()),
        ({"analyze_every_hours": 24}, {"analysis"}),
        ({"health_every_minutes": 30, "relations_every_minutes": 60}, {"health", "relations"}),
        ({"voice_score_every_minutes": 15}, {"voice"}),
    ],
)
def test_start_jobs_schedules_what_settings_ask(session_factory, test_settings, update, expected):
    settings = test_settings.model_copy(update={**ALL_OFF, **update})
    app = _app(session_factory, settings)

    jobs = start_jobs(app)
    try:
        assert set(jobs) == expected
        assert all(job.alive for job in jobs.values())
        for name, job in jobs.items():
            minutes = {
                "analysis": settings.analyze_every_hours * 60,
                "health": settings.health_every_minutes,
                "relations": settings.relations_every_minutes,
                "voice": settings.voice_score_every_minutes,
            }[name]
            assert job.every_s == minutes * 60
    finally:
        stop_jobs(app)
    assert not any(job.alive for job in jobs.values())
    stop_jobs(app)  # twice: nothing to stop, no error


def test_serve_lifespan_starts_and_stops_the_jobs(session_factory, test_settings):
    settings = test_settings.model_copy(
        update={"health_every_minutes": 60, "relations_every_minutes": 120}
    )
    app = create_app(settings, session_factory)

    with TestClient(app):
        jobs = dict(app.state.jobs)
        # Defaults: value analysis daily, voice every 15 minutes; plus the two asked for.
        assert set(jobs) == {"analysis", "health", "relations", "voice"}
        assert jobs["analysis"].every_s == 24 * 3600
        assert all(job.alive for job in jobs.values())
    assert app.state.jobs == {}
    assert not any(job.alive for job in jobs.values())
