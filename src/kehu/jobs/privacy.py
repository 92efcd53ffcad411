"""Retention on a schedule: the daily turn of ``kehu serve`` that erases inactive customers.

The same operation as ``kehu privacy retention --years N`` (:func:`kehu.privacy.run_retention`),
run once a day when ``KEHU_RETENTION_YEARS`` is set (0, the default, is off). Every erasure it
makes is audited like the CLI's, by the actor "scheduled retention", and the run itself leaves
a ``privacy.retention`` audit entry with its counts.
"""

import datetime as dt
import logging
from typing import Any

from kehu.audit import record
from kehu.core import Actor, Settings
from kehu.privacy import RetentionReport, run_retention

log = logging.getLogger(__name__)

#: Seconds between retention turns.
RETENTION_EVERY_S = 24 * 3600
RETENTION_ACTOR = Actor.system("scheduled retention")


def retention_turn(
    session_factory: Any, settings: Settings, *, now: dt.datetime | None = None
) -> str:
    """Erase the customers inactive for ``settings.retention_years`` years; commit.

    Returns ``"off"`` when retention is not configured, else ``"succeeded"``.
    """
    if settings.retention_years <= 0:
        return "off"
    with session_factory() as session:
        report: RetentionReport = run_retention(
            session,
            years=settings.retention_years,
            actor=RETENTION_ACTOR,
            dry_run=False,
            now=now,
        )
        record(
            session,
            actor=RETENTION_ACTOR,
            action="privacy.retention",
            object_type="privacy",
            summary=f"retention of {report.years} years erased {report.n_erased} customer(s)",
            changes={
                "years": report.years,
                "cutoff": report.cutoff.isoformat(),
                "n_erased": report.n_erased,
                "customer_ids": report.customer_ids[:1000],
            },
        )
        session.commit()
    log.info("scheduled retention (%s years): erased %s customer(s)", report.years, report.n_erased)
    return "succeeded"


__all__ = ["RETENTION_EVERY_S", "retention_turn"]
