"""Periodic jobs inside the server: one small runner, one daemon thread per job.

:class:`PeriodicJob` runs a callable every ``every_s`` seconds until stopped: it skips a turn
while the previous one is still going, logs failures and never lets one escape (the server keeps
serving whatever a job does). :func:`start_jobs` (from the app's lifespan) schedules what the
settings ask for, :func:`stop_jobs` stops them:

``analysis`` (``KEHU_ANALYZE_EVERY_HOURS``, 0 = off, default 24)
    the value analysis, then relationship health, then the relationship playbooks (cadence,
    free-service reminders, surprises, stored rules) — the chain of ``kehu analyze``;
``health`` (``KEHU_HEALTH_EVERY_MINUTES``, 0 = only after each analysis)
    relationship health on its own period;
``relations`` (``KEHU_RELATIONS_EVERY_MINUTES``, 0 = only after each analysis)
    the playbooks on their own period;
``voice`` (``KEHU_VOICE_SCORE_EVERY_MINUTES``, 0 = off, default 15)
    sentiment, spread risk and alerts of new posts (:func:`kehu.jobs.voice.voice_turn`);
``retention`` (``KEHU_RETENTION_YEARS``, 0 = off, the default)
    daily erasure of customers inactive that many years (:func:`kehu.jobs.privacy.retention_turn`).

Each turn opens its own session from ``app.state.session_factory`` and commits each step.

Of the processes serving one store (``kehu serve --workers N``, ``uvicorn ... --workers N``,
gunicorn, several hosts) exactly one runs the jobs: the :class:`Scheduler` holding the store's
lock (:mod:`kehu.jobs._leader`); the others stand by and take over when it exits or dies.
"""

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from kehu.core import Actor, Settings
from kehu.jobs._leader import LeaderLock

log = logging.getLogger(__name__)

_STATE_KEY = "jobs"

#: What a turn returns: ``"succeeded"``, ``"failed"`` (the work said no), ``"skipped"``, ...
TurnResult = str


class PeriodicJob:
    """Run ``run()`` every ``every_s`` seconds in a daemon thread until :meth:`stop`.

    Parameters
    ----------
    name
        What logs call the job (``"analysis"``, ``"voice"``...); the thread is ``kehu-<name>``.
    every_s
        Seconds between turns (> 0); the first turn comes after one period.
    run
        The work of one turn; returns a short word for what happened (``"succeeded"``...).
    """

    def __init__(self, name: str, every_s: float, run: Callable[[], TurnResult]) -> None:
        if every_s <= 0:
            raise ValueError(f"every_s must be positive, not {every_s}")
        self.name = name
        self.every_s = every_s
        self.run = run
        self.turns = 0
        self.last_result: TurnResult | None = None
        self._stop = threading.Event()
        self._running = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"kehu-{name}", daemon=True)

    def start(self) -> None:
        """Start the thread (the first turn comes after one period)."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait up to ``timeout`` seconds for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the thread runs."""
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.run_once()

    def run_once(self) -> TurnResult:
        """Run a turn now unless one is in progress.

        Returns
        -------
        str
            What the turn returned, ``"skipped"`` while one runs, ``"error"`` when it raised.
        """
        if not self._running.acquire(blocking=False):
            log.info("%s skipped: a turn is in progress", self.name)
            return "skipped"
        try:
            result = self.run()
        except Exception:  # the server must keep serving whatever the job does
            log.exception("scheduled %s crashed", self.name)
            result = "error"
        finally:
            self._running.release()
        self.turns += 1
        self.last_result = result
        return result


def _store_run_turn(
    session_factory: Any,
    name: str,
    find_running: Callable[[Any], Any],
    run: Callable[[Any], Any],
) -> TurnResult:
    """Run an analysis that records a run (value, health) unless the store has one running."""
    with session_factory() as session:
        if find_running(session) is not None:
            log.info("%s skipped: a run is marked running in the store", name)
            return "skipped"
        result = run(session)
        session.commit()
        if result.status != "succeeded":
            log.warning("scheduled %s %s failed: %s", name, result.id, result.message)
        return str(result.status)


def value_turn(session_factory: Any, settings: Settings) -> TurnResult:
    """Run the value analysis unless one is marked running in the store; return its status."""
    from kehu import value
    from kehu.jobs.value import run_value_analysis

    return _store_run_turn(
        session_factory,
        "value analysis",
        value.find_running_value_run,
        lambda session: run_value_analysis(
            session,
            actor=Actor.system("scheduled value analysis"),
            horizon_weeks=settings.value_horizon_weeks,
            discount_rate_annual=settings.value_discount_rate_annual,
            vip_share=settings.vip_share,
        ),
    )


def health_turn(session_factory: Any, settings: Settings) -> TurnResult:
    """Stage every customer and score churn risk (tasks for owners); return the run's status."""
    from kehu import health
    from kehu.jobs.health import run_health_analysis

    return _store_run_turn(
        session_factory,
        "health analysis",
        health.find_running_health_run,
        lambda session: run_health_analysis(
            session,
            actor=Actor.system("scheduled health analysis"),
            window_days=settings.health_window_days,
            alert_risk=settings.health_alert_risk,
        ),
    )


def relations_turn(session_factory: Any, as_of: dt.date | None = None) -> TurnResult:
    """Run cadence, free-service reminders, surprises and the stored rules; commit."""
    from kehu.jobs.relations import run_relations

    with session_factory() as session:
        report = run_relations(session, actor=Actor.system("scheduled playbooks"), as_of=as_of)
        session.commit()
    log.info("scheduled playbooks: %s customers as of %s", report.n_customers, report.as_of)
    return "succeeded"


def analysis_turn(session_factory: Any, settings: Settings) -> TurnResult:
    """Run the chain of ``kehu analyze``: value, then health and playbooks when value succeeds.

    Each step commits on its own; a step that raises is logged and the next still runs, so a
    broken playbook never undoes the scores. Returns the value step's status.
    """
    status = value_turn(session_factory, settings)
    if status != "succeeded":
        return status
    steps: list[tuple[str, Callable[[], TurnResult]]] = [
        ("health analysis", lambda: health_turn(session_factory, settings)),
        ("playbooks", lambda: relations_turn(session_factory)),
    ]
    for name, step in steps:
        try:
            step()
        except Exception:  # logged; the next step and the server go on
            log.exception("scheduled %s (after the value analysis) crashed", name)
    return status


def planned_jobs(app: Any) -> list[PeriodicJob]:
    """Return the jobs the settings of ``app`` ask for (not started)."""
    from kehu.jobs.privacy import RETENTION_EVERY_S, retention_turn
    from kehu.jobs.voice import voice_turn

    settings: Settings = app.state.settings
    factory = app.state.session_factory
    wanted: list[tuple[str, float, Callable[[], TurnResult]]] = [
        (
            "analysis",
            settings.analyze_every_hours * 3600,
            lambda: analysis_turn(factory, settings),
        ),
        ("health", settings.health_every_minutes * 60, lambda: health_turn(factory, settings)),
        ("relations", settings.relations_every_minutes * 60, lambda: relations_turn(factory)),
        ("voice", settings.voice_score_every_minutes * 60, lambda: voice_turn(factory)),
        (
            "retention",
            RETENTION_EVERY_S if settings.retention_years > 0 else 0,
            lambda: retention_turn(factory, settings),
        ),
    ]
    return [PeriodicJob(name, every_s, run) for name, every_s, run in wanted if every_s > 0]


class Scheduler:
    """Run the planned jobs in the one process holding the store's lock; stand by elsewhere.

    Every process serving a store starts one (from the app's lifespan); the holder of
    :func:`kehu.jobs._leader.leader_lock` starts the jobs. Every ``retry_s`` seconds a
    standing-by process tries the lock again, so it takes over within ``retry_s`` of the
    leader's exit (or death: the lock goes with the process), and the leader checks that it
    still holds the lock (a PostgreSQL connection can break) and stops its jobs if not.
    A process taking over starts the jobs afresh: each first turn comes after one period.

    Parameters
    ----------
    plan
        Returns the jobs to run, not started (a fresh set each time this process leads).
    lock
        The store's lock.
    retry_s
        Seconds between tries of the lock (``KEHU_JOBS_LEADER_RETRY_SECONDS``).
    """

    def __init__(
        self, plan: Callable[[], list[PeriodicJob]], lock: LeaderLock, retry_s: float
    ) -> None:
        if retry_s <= 0:
            raise ValueError(f"retry_s must be positive, not {retry_s}")
        self.plan = plan
        self.lock = lock
        self.retry_s = retry_s
        #: The running jobs by name; empty while standing by.
        self.jobs: dict[str, PeriodicJob] = {}
        self._leading = False
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="kehu-jobs-leader", daemon=True)

    @property
    def is_leader(self) -> bool:
        """Whether this process runs the jobs."""
        return self._leading

    def start(self) -> None:
        """Lead now if the lock is free, and keep watching it in a daemon thread."""
        with self._guard:
            self._try_to_lead()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the jobs (when leading), give the lock back and stop watching."""
        self._stop.set()
        with self._guard:
            self._stand_by()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _watch(self) -> None:
        while not self._stop.wait(self.retry_s):
            with self._guard:
                if self._stop.is_set():
                    return
                if not self._leading:
                    self._try_to_lead()
                elif not self.lock.is_held():
                    log.warning("lost the jobs lock: pid %s stops its jobs", os.getpid())
                    self._stand_by()

    def _try_to_lead(self) -> None:
        try:
            acquired = self.lock.try_acquire()
        except Exception:  # the database down: try again next time
            log.exception("could not try the jobs lock")
            return
        if not acquired:
            return
        self._leading = True
        for job in self.plan():
            job.start()
            self.jobs[job.name] = job
            log.info("%s scheduled every %s s", job.name, job.every_s)
        log.info("pid %s runs the periodic jobs: %s", os.getpid(), ", ".join(self.jobs))

    def _stand_by(self) -> None:
        for job in self.jobs.values():
            job.stop()
        self.jobs.clear()
        if self._leading:
            self._leading = False
            self.lock.release()


def start_jobs(app: Any) -> dict[str, PeriodicJob]:
    """Start the periodic jobs for ``app`` (from its lifespan) if this process leads.

    Of all processes serving the store (workers of one server, servers on several hosts) one
    runs the jobs (:class:`Scheduler`); none is started when the settings ask for none. The
    scheduler is ``app.state.scheduler`` and its running jobs ``app.state.jobs`` (empty in a
    process standing by); returns what runs now.
    """
    from kehu.jobs._leader import leader_lock

    settings: Settings = app.state.settings
    stop_jobs(app)  # a second lifespan of one app replaces the first's jobs
    if not planned_jobs(app):
        return {}
    scheduler = Scheduler(
        lambda: planned_jobs(app),
        leader_lock(settings.database_url),
        settings.jobs_leader_retry_seconds,
    )
    scheduler.start()
    app.state.scheduler = scheduler
    setattr(app.state, _STATE_KEY, scheduler.jobs)  # the live dict: a takeover shows
    return dict(scheduler.jobs)


def stop_jobs(app: Any) -> None:
    """Stop the jobs started by :func:`start_jobs` (safe to call when none runs)."""
    scheduler: Scheduler | None = getattr(app.state, "scheduler", None)
    if scheduler is not None:
        scheduler.stop()
    app.state.scheduler = None
    setattr(app.state, _STATE_KEY, {})


__all__ = [
    "PeriodicJob",
    "Scheduler",
    "analysis_turn",
    "health_turn",
    "planned_jobs",
    "relations_turn",
    "start_jobs",
    "stop_jobs",
    "value_turn",
]
