"""Retention on a schedule: `KEHU_RETENTION_YEARS` plans a daily job that erases, audited."""

from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import select

from kehu.audit import AuditEntry
from kehu.customers import get_customer
from kehu.jobs.privacy import RETENTION_EVERY_S, retention_turn
from kehu.jobs.schedule import planned_jobs
from kehu.privacy import ERASED_NAME

NOW = datetime(2016, 1, 1, tzinfo=UTC)
OFF = {
    "analyze_every_hours": 0,
    "health_every_minutes": 0,
    "relations_every_minutes": 0,
    "voice_score_every_minutes": 0,
}


def _audit(session, action):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_the_daily_turn_erases_the_long_inactive_and_is_audited(
    session, session_factory, test_settings, long_inactive
):
    old, recent = long_inactive
    settings = test_settings.model_copy(update={"retention_years": 3})

    assert retention_turn(session_factory, settings, now=NOW) == "succeeded"

    session.expire_all()
    assert get_customer(session, old.id).name == ERASED_NAME
    assert get_customer(session, recent.id).name == "Bought In 2015"
    erase = _audit(session, "customer.erase")
    assert [(e.object_id, e.actor_label) for e in erase] == [(str(old.id), "scheduled retention")]
    (run,) = _audit(session, "privacy.retention")
    assert run.changes["n_erased"] == 1
    assert run.changes["customer_ids"] == [old.id]
    assert run.changes["years"] == 3
    # The next day: nothing more to erase, one more run entry.
    assert retention_turn(session_factory, settings, now=NOW) == "succeeded"
    session.expire_all()
    assert len(_audit(session, "customer.erase")) == 1
    assert [e.changes["n_erased"] for e in _audit(session, "privacy.retention")] == [1, 0]


def test_retention_is_off_by_default(session, session_factory, test_settings, long_inactive):
    old, _ = long_inactive
    assert test_settings.retention_years == 0

    assert retention_turn(session_factory, test_settings, now=NOW) == "off"

    session.expire_all()
    assert get_customer(session, old.id).name == "Gone Since 2010"
    assert _audit(session, "privacy.retention") == []
    app = SimpleNamespace(
        state=SimpleNamespace(
            settings=test_settings.model_copy(update=OFF), session_factory=session_factory
        )
    )
    assert [job.name for job in planned_jobs(app)] == []


def test_the_setting_plans_a_daily_job_that_runs_the_turn(session, session_factory, test_settings):
    settings = test_settings.model_copy(update={**OFF, "retention_years": 5})
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, session_factory=session_factory))

    (job,) = planned_jobs(app)

    assert job.name == "retention"
    assert job.every_s == RETENTION_EVERY_S == 86400
    assert job.run_once() == "succeeded"  # today's clock: nobody in an empty store
    session.expire_all()
    assert [e.changes["years"] for e in _audit(session, "privacy.retention")] == [5]
