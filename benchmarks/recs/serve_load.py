"""Serving under load: `kehu serve` on loopback, top-10 recommendations at a fixed rate.

Run: .venv/bin/python benchmarks/recs/serve_load.py [--rate 200] [--seconds 30]
         [--channel web] [--store DIR] [--port 8765]

1. A demo-sized store (``kehu demo --no-serve``: 807 customers, 4,202 orders, the trained
   recommender and a month of feedback) is built in ``--store`` (a temporary folder by
   default; an existing ``kehu.db`` there is reused).
2. ``kehu serve`` (uvicorn, one worker) starts on 127.0.0.1 with the scheduled value analysis
   off.
3. A **second process** (this file with ``--drive``) sends ``GET
   /api/v1/customers/{id}/recommendations?k=10&channel=…`` for random demo customers on an
   open-loop schedule: request ``i`` is due at ``i / rate`` seconds, whatever happened to the
   ones before, and its latency is counted from when it was due (so a stalled server cannot
   hide its queue: no coordinated omission). It sends ``rate * seconds`` requests, each with
   a 5 s timeout, and gives up on those unfinished 20 s after the last was due.
4. p50/p95/p99/max and the errors are printed and written to
   benchmarks/results/serve_load-<time>.json. Goal: p99 < 20 ms at 200 requests/s.

``--sequential`` sends one request at a time instead (latency from sending; the rate is
reached only if the server keeps up): the service time without concurrency.

In the ``web`` channel every request also records its ten impressions (a write and a commit
per request), as production serving does; ``--channel console`` measures reads only.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ADMIN = ("admin@kehu.local", "kehu-demo-2026")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


#: Requests in flight at most; beyond that the driver counts the request as dropped rather than
#: queue without bound (a stalled server must not stall the driver).
MAX_IN_FLIGHT = 256
_STATE: dict[str, Any] = {"latencies": [], "service": [], "errors": {}, "n": 0, "t0": 0.0}


def _count_error(kind: str) -> None:
    errors = _STATE["errors"]
    errors[kind] = errors.get(kind, 0) + 1


def _summary() -> dict[str, Any]:
    latencies, service = _STATE["latencies"], _STATE["service"]
    elapsed = max(time.monotonic() - _STATE["t0"], 1e-9)
    return {
        "n_requests": _STATE["n"],
        "n_ok": len(latencies),
        "errors": _STATE["errors"],
        "achieved_rate": round(len(latencies) / elapsed, 1),
        "latency_ms_from_due": {f"p{q}": round(_percentile(latencies, q), 2) for q in (50, 95, 99)}
        | {"max": round(max(latencies, default=float("nan")), 2)},
        "latency_ms_from_sent": {f"p{q}": round(_percentile(service, q), 2) for q in (50, 95, 99)},
    }


async def _drive(
    url: str,
    token: str,
    ids: list[int],
    rate: float,
    seconds: float,
    channel: str,
    *,
    sequential: bool = False,
) -> None:
    n = int(rate * seconds)
    rng = random.Random(20261125)
    targets = [rng.choice(ids) for _ in range(n)]
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    client = httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=5.0
    )
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    _STATE["t0"] = time.monotonic() + 0.2

    async def one(i: int, due: float) -> None:
        sent = loop.time()
        try:
            response = await client.get(
                f"/api/v1/customers/{targets[i]}/recommendations",
                params={"k": 10, "channel": channel},
            )
        except httpx.HTTPError as exc:
            _count_error(type(exc).__name__)
            return
        done = loop.time()
        if response.status_code != 200:
            _count_error(str(response.status_code))
            return
        _STATE["latencies"].append((done - due) * 1000)
        _STATE["service"].append((done - sent) * 1000)

    in_flight: set[asyncio.Future[None]] = set()
    for i in range(n):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        if loop.time() > start + seconds + 20:
            break
        _STATE["n"] += 1
        if sequential:
            await one(i, max(due, loop.time()))
            if loop.time() > start + seconds:
                break
            continue
        if len(in_flight) >= MAX_IN_FLIGHT:
            _count_error(f"dropped ({MAX_IN_FLIGHT} in flight)")
            continue
        task = asyncio.ensure_future(one(i, due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight, timeout=10)


def _drive_and_report(*args: Any, **kwargs: Any) -> None:
    """Drive, print the figures and leave; a watchdog ends a driver the server stalls."""

    def report() -> None:
        print(json.dumps(_summary()), flush=True)
        os._exit(0)

    watchdog = threading.Timer(float(args[4]) + 60, report)
    watchdog.daemon = True
    watchdog.start()
    asyncio.run(_drive(*args, **kwargs))
    report()


def _kehu(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "kehu", *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def _wait_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/login", timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"kehu serve did not answer on {url} within {seconds} s")


def main() -> None:
    """Build the store, start the server, drive it from a second process, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--channel", default="web")
    parser.add_argument("--store", type=Path)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="one request at a time (paced at --rate when the server keeps up): service "
        "latency without concurrency",
    )
    parser.add_argument("--drive", nargs=3, metavar=("URL", "TOKEN", "IDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        url, token, ids_file = args.drive
        ids = json.loads(Path(ids_file).read_text())
        _drive_and_report(
            url, token, ids, args.rate, args.seconds, args.channel, sequential=args.sequential
        )
        return

    store = args.store or Path(tempfile.mkdtemp(prefix="kehu-load-"))
    store.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "KEHU_DATABASE_URL": f"sqlite:///{store / 'kehu.db'}",
        "KEHU_ANALYZE_EVERY_HOURS": "0",
        "KEHU_ENVIRONMENT": "development",
    }
    started = time.perf_counter()
    _kehu(env, "demo", "--no-serve")
    print(f"store ready in {store} ({time.perf_counter() - started:.0f} s)")
    url = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "kehu", "serve", "--port", str(args.port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_up(url)
        token = httpx.post(
            f"{url}/api/v1/auth/token",
            json={"email": ADMIN[0], "password": ADMIN[1], "name": "load"},
            timeout=10,
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        ids: list[int] = []
        for offset in range(0, 1000, 100):
            page = httpx.get(
                f"{url}/api/v1/customers",
                params={"limit": 100, "offset": offset},
                headers=headers,
                timeout=10,
            ).json()
            ids += [row["id"] for row in page["data"]]
        for customer_id in ids[:50]:  # warm-up: model loaded, caches filled
            httpx.get(
                f"{url}/api/v1/customers/{customer_id}/recommendations",
                params={"k": 10, "channel": "console"},
                headers=headers,
                timeout=10,
            )
        ids_file = store / "load-ids.json"
        ids_file.write_text(json.dumps(ids))
        driver = subprocess.run(  # noqa: S603 - our own interpreter and this file
            [
                sys.executable,
                __file__,
                "--rate",
                str(args.rate),
                "--seconds",
                str(args.seconds),
                "--channel",
                args.channel,
                *(["--sequential"] if args.sequential else []),
                "--drive",
                url,
                token,
                str(ids_file),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=args.seconds + 120,
        )
        result = json.loads(driver.stdout.strip().splitlines()[-1])
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    report = {
        "rate": args.rate,
        "seconds": args.seconds,
        "channel": args.channel,
        "mode": "sequential" if args.sequential else "open loop",
        "k": 10,
        "n_customers": len(ids),
        "goal": "p99 < 20 ms at 200 requests/s",
        **result,
    }
    print(json.dumps(report, indent=2))
    out = Path(__file__).resolve().parents[1] / "results"
    out.mkdir(exist_ok=True)
    path = out / f"serve_load-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
