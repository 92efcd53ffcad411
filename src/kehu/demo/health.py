"""Demo relationship health: stage the demo customers and score their churn risk once.

Runs the real analysis (:func:`kehu.jobs.health.run_health_analysis`) on the demo's Online
Retail II slice after the value analysis, so the health page shows stages with evidence,
cohort curves and the value of +5 % retention, and VIP owners get their first tasks.
"""

from sqlalchemy.orm import Session

from kehu.core import Actor
from kehu.health import HealthRun, latest_health_run
from kehu.jobs.health import run_health_analysis

ACTOR = Actor(kind="system", label="demo")


def seed_health(session: Session) -> HealthRun | None:
    """Run the health analysis unless a successful one exists (idempotent)."""
    if latest_health_run(session) is not None:
        return None
    return run_health_analysis(session, actor=ACTOR)
