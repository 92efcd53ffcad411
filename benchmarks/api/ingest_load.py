"""Event ingest at saturation: `kehu serve` on loopback, POST /api/v1/events for 60 s.

Run: .venv/bin/python benchmarks/api/ingest_load.py [--seconds 60] [--batch 10]
         [--connections 16] [--workers 1] [--store DIR] [--port 8766]
         [--database-url postgresql+psycopg://...]

1. A demo-sized store (``kehu demo --no-serve``) is built in ``--store`` (a temporary folder by
   default; an existing one is reused).
2. ``kehu serve --no-access-log`` starts on 127.0.0.1 with the scheduled jobs off.
3. A **second process** (this file with ``--drive``) keeps ``--connections`` keep-alive
   connections busy (closed loop: each sends its next batch as soon as the last is answered, so
   the server is saturated) for ``--seconds``, each request a batch of ``--batch`` events
   (impressions, clicks, add-to-carts, dismisses; random demo customers and SKUs) with event
   ids unique to this run. It counts the events the server acknowledged (200, each ``recorded``).
4. The events stored are counted in the database (``recommendation_events`` rows whose
   ``event_id`` carries this run's prefix) and compared with the events acknowledged: the run
   **passes when every acknowledged event is stored and nothing else is** (a request that
   failed or timed out is reported; its events may or may not be stored, and are listed).
5. Throughput (requests/s, events/s) and latency p50/p95/p99 per request are printed and
   written to ``benchmarks/results/ingest_load-<time>.json``, with the server's and the
   driver's CPU time and the load average (the machine is shared).
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
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _serving import demo_admin_token, group_cpu_seconds, percentile, wait_up

KINDS = ["impression"] * 14 + ["click"] * 4 + ["add_to_cart", "dismiss"]


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return int(head[9:12]), await reader.readexactly(length)


async def _drive(args: argparse.Namespace, token: str, plan: dict[str, Any]) -> dict[str, Any]:
    host, port = args.url.removeprefix("http://").split(":")
    rng = random.Random(20261125)
    customers, skus, prefix = plan["customers"], plan["skus"], plan["prefix"]
    acknowledged: list[str] = []
    unsure: list[str] = []
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = iter(range(10**9))
    now = datetime.now(UTC) - timedelta(minutes=1)
    loop = asyncio.get_running_loop()
    stop = loop.time() + args.seconds

    def batch() -> tuple[list[str], bytes]:
        ids, events = [], []
        for _ in range(args.batch):
            event_id = f"{prefix}-{next(counter)}"
            ids.append(event_id)
            events.append(
                {
                    "event_id": event_id,
                    "kind": rng.choice(KINDS),
                    "customer_id": rng.choice(customers),
                    "item_id": rng.choice(skus),
                    "channel": "web",
                    "occurred_at": (now - timedelta(seconds=rng.random() * 3600)).isoformat(),
                }
            )
        body = json.dumps({"events": events}).encode()
        head = (
            f"POST /api/v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        return ids, head + body

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        while loop.time() < stop:
            ids, request = batch()
            sent = loop.time()
            try:
                status, body = await asyncio.wait_for(_request(reader, writer, request), 10)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                unsure.extend(ids)
                writer.close()
                reader, writer = await asyncio.open_connection(host, int(port))
                continue
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1
                unsure.extend(ids)  # refused: nothing should be stored, checked below
                continue
            result = json.loads(body)
            if result["n_recorded"] != len(ids):
                errors["not all recorded"] = errors.get("not all recorded", 0) + 1
            acknowledged.extend(ids)
            latencies.append((loop.time() - sent) * 1000)
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(connection() for _ in range(args.connections)))
    elapsed = time.monotonic() - started
    return {
        "seconds": round(elapsed, 1),
        "n_requests_ok": len(latencies),
        "n_events_acknowledged": len(acknowledged),
        "n_events_unsure": len(unsure),
        "unsure_ids": unsure[:1000],
        "errors": errors,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "events_per_s": round(len(acknowledged) / elapsed, 1),
        "latency_ms": {f"p{q}": round(percentile(latencies, q), 2) for q in (50, 95, 99)}
        | {"max": round(max(latencies, default=float("nan")), 2)},
    }


def _stored(database_url: str, prefix: str) -> set[str]:
    from sqlalchemy import select

    from kehu.engagement import RecommendationEvent
    from kehu.store import make_engine

    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(RecommendationEvent.event_id).where(
                RecommendationEvent.event_id.like(f"{prefix}-%")
            )
        ).scalars()
        stored = set(rows)
    engine.dispose()
    return stored


def _plan(database_url: str) -> dict[str, Any]:
    from sqlalchemy import select

    from kehu.commerce import Product
    from kehu.customers import Customer
    from kehu.store import make_engine

    engine = make_engine(database_url)
    with engine.connect() as connection:
        customers = list(connection.execute(select(Customer.id).limit(1000)).scalars())
        skus = list(connection.execute(select(Product.sku).limit(1000)).scalars())
    engine.dispose()
    return {"customers": customers, "skus": skus, "prefix": f"load-{uuid.uuid4().hex[:10]}"}


def main() -> None:
    """Build the store, start the server, saturate it from a second process, verify, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--batch", type=int, default=10, help="events per request")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--database-url")
    parser.add_argument("--drive", nargs=2, metavar=("TOKEN", "PLAN"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        token, plan_file = args.drive
        result = asyncio.run(_drive(args, token, json.loads(Path(plan_file).read_text())))
        times = os.times()
        print(json.dumps(result | {"driver_cpu_s": round(times.user + times.system, 2)}))
        return

    store = args.store or Path(tempfile.mkdtemp(prefix="kehu-ingest-"))
    store.mkdir(parents=True, exist_ok=True)
    database_url = args.database_url or f"sqlite:///{store / 'kehu.db'}"
    env = {
        **os.environ,
        "KEHU_DATABASE_URL": database_url,
        "KEHU_DATA_DIR": str(store),
        "KEHU_ANALYZE_EVERY_HOURS": "0",
        "KEHU_VOICE_SCORE_EVERY_MINUTES": "0",
        "KEHU_WEBHOOK_DELIVER_EVERY_SECONDS": "0",
        "KEHU_ENVIRONMENT": "development",
    }
    subprocess.run(
        [sys.executable, "-m", "kehu", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        check=True,
    )
    url = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [
            *[sys.executable, "-m", "kehu", "serve", "--port", str(args.port)],
            *["--workers", str(args.workers), "--no-access-log"],
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_up(url)
        token = demo_admin_token(database_url)
        plan = _plan(database_url)
        plan_file = store / "ingest-plan.json"
        plan_file.write_text(json.dumps(plan))
        time.sleep(3)  # let every worker finish starting
        cpu_before = group_cpu_seconds(server.pid)
        driver = subprocess.run(  # noqa: S603 - our own interpreter and this file
            [
                *[sys.executable, __file__, "--seconds", str(args.seconds)],
                *["--batch", str(args.batch), "--connections", str(args.connections)],
                *["--url", url, "--drive", token, str(plan_file)],
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=args.seconds + 120,
        )
        result = json.loads(driver.stdout.strip().splitlines()[-1])
        result["server_cpu_s"] = round(group_cpu_seconds(server.pid) - cpu_before, 2)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    stored = _stored(database_url, plan["prefix"])
    acknowledged = result["n_events_acknowledged"]
    unsure = set(result.pop("unsure_ids"))
    n_acknowledged_stored = len(stored - unsure)
    report = {
        "database": "postgresql" if args.database_url else "sqlite (embedded default)",
        "workers": args.workers,
        "connections": args.connections,
        "batch": args.batch,
        "load_average": os.getloadavg(),
        **result,
        "n_events_stored": len(stored),
        "n_unsure_stored": len(stored & unsure),
        # Ids are unique per run and made only when sent: the stored events outside the failed
        # requests are exactly the acknowledged ones when their counts agree.
        "sent_equals_stored": n_acknowledged_stored == acknowledged,
        "server_cpu_ms_per_event": round(1000 * result["server_cpu_s"] / max(acknowledged, 1), 3),
    }
    print(json.dumps(report, indent=2))
    out = Path(__file__).resolve().parents[1] / "results"
    out.mkdir(exist_ok=True)
    path = out / f"ingest_load-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"written to {path}")
    if not report["sent_equals_stored"]:
        raise SystemExit("events acknowledged and events stored differ")


if __name__ == "__main__":
    main()
