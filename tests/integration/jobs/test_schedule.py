"""The value analysis schedule: runs, skips while busy, survives failures, starts and stops."""

from types import SimpleNamespace

from sqlalchemy import func, select

from kehu.core import Settings
from kehu.jobs.schedule import ValueScheduler, start_scheduler, stop_scheduler
from kehu.value import ValueRun


def test_a_turn_runs_the_analysis_and_commits(session_factory, session, test_settings, history):
    session.commit()
    scheduler = ValueScheduler(session_factory, test_settings, every_s=3600)

    assert scheduler.run_once() == "succeeded"
    assert session.scalar(select(func.count()).select_from(ValueRun)) == 1


def test_a_turn_without_data_fails_quietly(session_factory, session, test_settings):
    scheduler = ValueScheduler(session_factory, test_settings, every_s=3600)

    assert scheduler.run_once() == "failed"
    assert session.scalar(select(ValueRun.status)) == "failed"


def test_a_turn_is_skipped_while_one_runs(session_factory, session, test_settings):
    scheduler = ValueScheduler(session_factory, test_settings, every_s=3600)
    scheduler._running.acquire()
    try:
        assert scheduler.run_once() == "skipped"
    finally:
        scheduler._running.release()
    assert session.scalar(select(func.count()).select_from(ValueRun)) == 0


def test_an_error_is_logged_not_raised(test_settings, caplog):
    def broken_factory():
        raise RuntimeError("database gone")

    scheduler = ValueScheduler(broken_factory, test_settings, every_s=3600)

    assert scheduler.run_once() == "error"
    assert "scheduled value analysis crashed" in caplog.text


def test_start_and_stop(session_factory, test_settings):
    off = SimpleNamespace(
        state=SimpleNamespace(
            settings=test_settings.model_copy(update={"analyze_every_hours": 0}),
            session_factory=session_factory,
        )
    )
    on = SimpleNamespace(
        state=SimpleNamespace(settings=test_settings, session_factory=session_factory)
    )

    assert start_scheduler(off) is None
    scheduler = start_scheduler(on)
    assert scheduler is not None
    assert scheduler._thread.is_alive()
    stop_scheduler(on)
    assert not scheduler._thread.is_alive()
    stop_scheduler(off)  # nothing to stop: no error
    assert isinstance(test_settings, Settings)
