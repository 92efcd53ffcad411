"""What the loopback load benchmarks share: the demo admin's token, waiting for the server,
the CPU seconds of its process group, percentiles.

Imported by ``benchmarks/recs/serve_load.py`` and ``benchmarks/api/ingest_load.py`` (each puts
this folder on ``sys.path``).
"""

import os
import time
from pathlib import Path

import httpx

DEMO_ADMIN = "admin@kehu.local"


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def group_cpu_seconds(group: int) -> float:
    """Return the CPU seconds (user + system) of every live process in a process group."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Fields after the command: state(0) ppid(1) pgrp(2) ... utime(11) stime(12).
        if int(fields[2]) == group:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def wait_up(url: str, seconds: float = 300) -> None:
    """Wait until ``kehu serve`` answers its health check on ``url``.

    Five minutes: on the shared two-core machine at a load average of 15-20, two workers took
    over 90 s to start.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"kehu serve did not answer on {url} within {seconds} s")


def demo_admin_token(database_url: str) -> str:
    """Create an API token for the demo admin in the database (the login is not measured)."""
    from kehu.core import Actor
    from kehu.store import make_engine, make_session_factory, session_scope
    from kehu.users import create_api_token, find_user_by_email

    engine = make_engine(database_url)
    with session_scope(make_session_factory(engine)) as session:
        admin = find_user_by_email(session, DEMO_ADMIN)
        if admin is None:
            raise SystemExit(f"no {DEMO_ADMIN} in the store: is it a kehu demo store?")
        _, secret = create_api_token(session, admin, name="load", actor=Actor.system("bench"))
    engine.dispose()
    return secret
