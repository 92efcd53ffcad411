"""The value analysis on a schedule inside ``kehu serve``: a small daemon thread.

``KEHU_ANALYZE_EVERY_HOURS`` (0 = off, default 24) sets the period. The thread opens its own
session from ``app.state.session_factory``, skips a turn while a run is in progress (in this
process, or one marked running in the store), logs failures and never lets one escape: the
server keeps serving whatever the analysis does.
"""

import logging
import threading
from typing import Any

from kehu.core import Actor, Settings

log = logging.getLogger(__name__)

_STATE_KEY = "value_scheduler"


class ValueScheduler:
    """Runs :func:`kehu.jobs.run_value_analysis` every ``every_s`` seconds until stopped."""

    def __init__(self, session_factory: Any, settings: Settings, every_s: float) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.every_s = every_s
        self._stop = threading.Event()
        self._running = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="kehu-value-scheduler", daemon=True)

    def start(self) -> None:
        """Start the thread (the first run comes after one period)."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait up to ``timeout`` seconds for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.run_once()

    def run_once(self) -> str:
        """Run the analysis now unless one is in progress; return what happened.

        Returns
        -------
        str
            ``"skipped"``, ``"succeeded"``, ``"failed"`` or ``"error"``.
        """
        if not self._running.acquire(blocking=False):
            log.info("value analysis skipped: a run is in progress")
            return "skipped"
        try:
            from kehu import value
            from kehu.jobs.value import run_value_analysis

            with self.session_factory() as session:
                if value.find_running_value_run(session) is not None:
                    log.info("value analysis skipped: a run is marked running in the store")
                    return "skipped"
                run = run_value_analysis(
                    session,
                    actor=Actor.system("scheduled value analysis"),
                    horizon_weeks=self.settings.value_horizon_weeks,
                    discount_rate_annual=self.settings.value_discount_rate_annual,
                    vip_share=self.settings.vip_share,
                )
                session.commit()
                if run.status != value.ValueRunStatus.SUCCEEDED:
                    log.warning("scheduled value analysis %s failed: %s", run.id, run.message)
                return str(run.status)
        except Exception:  # the server must keep serving whatever the analysis does
            log.exception("scheduled value analysis crashed")
            return "error"
        finally:
            self._running.release()


def start_scheduler(app: Any) -> ValueScheduler | None:
    """Start the value analysis schedule for ``app`` (from its lifespan); None when off.

    Reads ``app.state.settings`` and ``app.state.session_factory``; the scheduler is kept in
    ``app.state.value_scheduler`` for :func:`stop_scheduler`.
    """
    settings: Settings = app.state.settings
    if settings.analyze_every_hours <= 0:
        setattr(app.state, _STATE_KEY, None)
        return None
    scheduler = ValueScheduler(
        app.state.session_factory, settings, every_s=settings.analyze_every_hours * 3600
    )
    scheduler.start()
    setattr(app.state, _STATE_KEY, scheduler)
    log.info("value analysis scheduled every %s hour(s)", settings.analyze_every_hours)
    return scheduler


def stop_scheduler(app: Any) -> None:
    """Stop the schedule started by :func:`start_scheduler` (safe to call when none runs)."""
    scheduler: ValueScheduler | None = getattr(app.state, _STATE_KEY, None)
    if scheduler is not None:
        scheduler.stop()
        setattr(app.state, _STATE_KEY, None)
