"""Serving under load: `kehu serve` on loopback, top-10 recommendations at a fixed rate.

Run: .venv/bin/python benchmarks/recs/serve_load.py [--rate 200] [--seconds 60]
         [--channel web] [--store DIR] [--port 8765] [--workers 2] [--access-log]
         [--database-url postgresql+psycopg://...] [--trace DIR]

1. A demo-sized store (``kehu demo --no-serve``: 807 customers, 4,202 orders, the trained
   recommender and a month of feedback) is built in ``--store`` (a temporary folder by
   default; an existing ``kehu.db`` there is reused).
2. ``kehu serve --workers 2 --no-access-log`` (uvicorn) starts on 127.0.0.1 with the
   scheduled value analysis off.
3. A **second process** (this file with ``--drive``) sends ``GET
   /api/v1/customers/{id}/recommendations?k=10&channel=…`` for random demo customers on an
   open-loop schedule: request ``i`` is due at ``i / rate`` seconds, whatever happened to the
   ones before, and its latency is counted from when it was due (so a stalled server cannot
   hide its queue: no coordinated omission). It sends ``rate * seconds`` requests, each with
   a 5 s timeout, and gives up on those unfinished 20 s after the last was due.
4. p50/p95/p99/max, the errors and the CPU seconds of the server (all its processes) and of
   the driver are printed and written to benchmarks/results/serve_load-<time>.json. Goal:
   p99 < 20 ms at 200 requests/s.

``--sequential`` sends one request at a time instead (latency from sending; the rate is
reached only if the server keeps up): the service time without concurrency.

In the ``web`` channel every request also records its ten impressions, as production serving
does: since the fifth round (below) they are queued in the worker and stored in batches by
:class:`kehu.engagement.ImpressionWriter` (``KEHU_RECS_IMPRESSION_FLUSH_MS``, default 50;
``KEHU_RECS_IMPRESSION_FLUSH_MS=0`` in the environment measures the old write per request);
``--channel console`` measures reads only.

``--trace DIR`` times the phases inside the server (``_serve_trace/sitecustomize.py`` on the
workers' ``PYTHONPATH``: the route's reads and recording, each SQL statement, commits, the wait
for the concurrency limit, the collector's pauses) and adds their percentiles to the report.
The last line printed (``SUMMARY ...``) is the run in one line, for comparing runs.

Figures (2026-11-25 05:02-05:06 UTC, SQLite, the shared 2-core machine at load average 3.5-6
from other work, so latencies are above a quiet machine's; run at ``nice -n -15``; "before" is
the code before the serving work, one worker with the access log; "after" this code):

=====================  ===========  ===============  ===============  =================
run                    achieved/s   p50 / p99 (ms)   server CPU/req   driver CPU/req
=====================  ===========  ===============  ===============  =================
before, sequential     40.1         21.1 / 59.5      18.4 ms          1.1 ms (start-up)
after, sequential, 1w  79.4         10.7 / 33.1      10.4 ms          0.7 ms (start-up)
before, 100/s          53.3         3913 / 7287      15.5 ms          0.6 ms
after, 100/s, 2w       84.1         830 / 3508       13.8 ms          0.7 ms
after, 200/s, 2w       84.9 (max)   2662 / 5188      14.1 ms          0.4 ms
=====================  ===========  ===============  ===============  =================

The goal (p99 < 20 ms at 200/s) needs about 3 ms of server CPU per request on two cores;
what is left is mostly ``Recommender.recommend`` (its reasons), FastAPI's routing and
dependencies, and SQLAlchemy's per-statement overhead.

Second round (2026-11-25 07:35-08:10 UTC; the same shared machine at load average **10-20**
from seven other sessions' tests and benchmarks; every run at ``nice -n -15``; 15 s per run;
SQLite runs on a fresh copy of one demo store; "HEAD" is the code before this round, run in
the same session as the anchor with h11 + asyncio; "new" is this round: two thread hops per
request instead of seven, proposals remembered per customer, httptools + uvloop, the
concurrency limit):

=========================================  ==========  ====================  ============
run                                        achieved/s  p50 / p99 from sent   server CPU
=========================================  ==========  ====================  ============
console, sequential, 1w, HEAD (2 runs)     62 / 55     15.7 / 32, 16.5 / 86  5.1-5.3 ms
console, sequential, 1w, new (4 runs)      95-115      6.4-9.3 / 28-44       2.7-3.0 ms
web, sequential, 1w, HEAD / new *          77 / 63     10.2 / 56, 13.8 / 43  5.4 / 5.7 ms
SQLite, web, 400/s offered, 2w, HEAD       134 (max)   113 / 2204            7.5 ms
SQLite, web, 400/s offered, 2w, new *      127 (max)   37 / 3187             6.4 ms
SQLite, web, 400/s offered, 1w, new *      92 (max)    64 / 3518             6.5 ms
SQLite, web, 100 / 150 / 200/s, 1w, new *  80 / 74 / 72  78-101 / 2770-3817  6.0-6.3 ms
SQLite, web, 100 / 150 / 200/s, 2w, new *  63 / 78 / 82  40-64 / 3554-3983   6.8-7.1 ms
SQLite, web, 60/s, 2w, new, concurrency 8  60          6.0 / 66              5.7 ms
SQLite, web, 60/s, 2w, new (32) / HEAD     57.5 / 59.8 10.4 / 1107, 51 / 76  6.5 / 7.2 ms
PostgreSQL, web, 400/s offered, 2w, HEAD   103 (max)   221 / 2275            7.8 ms
PostgreSQL, web, 400/s offered, 2w, new    141 (max)   152 / 1208            5.6 ms
PostgreSQL, web, 200/s, 2w / 1w, new       130 / 86    170 / 1401, 339/1274  6.2 / 6.3 ms
=========================================  ==========  ====================  ============

Third round, the same code as "new" plus the candidate count rounded up (below) and the
driver resending on a keep-alive connection the server had closed while idle (2026-11-25
08:04-08:12 UTC, the machine quieter: load average 3-7; SQLite, web channel, fresh store copy
per run, HEAD and new in turns):

================================  ==========  =====================  ==========
run                               achieved/s  p50 / p95 / p99 (ms)   server CPU
================================  ==========  =====================  ==========
sequential, 1w, HEAD              181.5       5.3 / 7.1 / 12.9       5.0 ms
sequential, 1w, new               200 (cap)   3.9 / 6.0 / 10.9       4.2 ms
100/s, 2w, HEAD                   99.8        50 / 68 / 94           6.4 ms
100/s, 2w, new                    100.0       5.9 / 27 / 296         5.4 ms
200/s, 2w, HEAD                   157.2 (max) 108 / 640 / 1683 sent  6.4 ms
200/s, 2w, new                    157.6 (max) 28 / 981 / 2751 sent   6.1 ms
================================  ==========  =====================  ==========

(latencies from when each request was due, except the saturated 200/s rows: from sending.)
On a quieter machine the service time is now under the goal (sequential p99 10.9 ms, 0.83x
HEAD's CPU per request) and the median at 100/s fell tenfold, but **200/s is still beyond
two workers on this machine** (both saturate at ~157/s, ~6 ms of server CPU per request with
the SQLite writes and two processes' contention for the write lock), and the p99 at 100/s
has a long tail (296 ms: SQLite's busy handler sleeping while the other worker holds the
write lock). Reaching the goal needs either a read-mostly serve (record impressions in
batches off the request path) or fewer CPU milliseconds in the recommender and SQLAlchemy.

Fourth round: how many requests a process takes in at once (``KEHU_SERVER_CONCURRENCY``;
SQLite, web, 2 workers, 08:08-08:11 UTC, load average 2-5):

==========================  ==========  =====================  ==========
run                         achieved/s  p50 / p95 / p99 (ms)   server CPU
==========================  ==========  =====================  ==========
150/s, HEAD (40 threads)    149.6       52 / 65 / 84           5.9 ms
150/s, new, 32 at once      147.4       5.7 / 358 / 1004       5.1 ms
150/s, new, 8 at once       150.0       5.5 / 13 / 182         5.4 ms
200/s, new, 8 at once       200.0       35 / 409 / 855         5.9 ms
200/s, new, 4 at once       199.9       8.4 / 134 / 290        5.5 ms
==========================  ==========  =====================  ==========

Fewer requests at once per process means fewer threads contending for the GIL and for
SQLite's write lock (whose busy handler sleeps): the tail shrinks and 200/s is sustained
where 32 at once saturated at ~157/s. The default is now 8 (a process also serves slow
requests: imports, reports); 4 measured best for this load. The goal (p99 < 20 ms at 200/s)
is **not met**: p99 290 ms at best here.

Last pair, the default (8 at once), 08:11-08:13 UTC, load average 2-7, HEAD and new in
turns: SQLite 200/s, 2w: new 185.9/s achieved, p50/p99 from sent 141/792 ms, 5.2 ms CPU;
HEAD 141.4/s, 113/1808 ms, 7.0 ms CPU. PostgreSQL 200/s, 2w, on a store whose customers had by
then ~110 events each (every earlier run's impressions and the 89,700 ingested events, so
reading the history dominates): new 82.7/s, 266/1680 ms, 13.1 ms CPU; HEAD 92.1/s, 285/1095
ms, 12.7 ms CPU: no gain there: the history read (``list_serving_feedback``, a row per event
with its dates converted) grows with the customer's events and is now the cost to cut.

(* before proposals were remembered across a growing history: in the ``web`` channel every
list served adds impressions, so the candidate count, and with it the cache key, changed on
every request; it is now rounded up to a power of two.) The machine gave the server about
half a core at these loads, so no run reached its offered rate above ~140/s and the p99 at
100-200/s is the queue of a starved server, not its service time: **the goal (p99 < 20 ms at
200/s) is still not met here** and cannot be judged on this machine while it is shared. What
the figures do show: at the same load, server CPU per request fell to 0.53x HEAD for reads
(console, sequential) and 0.71x on PostgreSQL under saturation (5.6 vs 7.8 ms), and the
PostgreSQL maximum rose from 103 to 141/s. Under saturation the CPU per request on SQLite
stays ~6-7 ms: most of it is then the write (impressions) and thread contention. Errors in
the new runs: none from the server; ``TimeoutError`` (a request over 5 s in the queue of a
saturated server) and, at low rates, ``IncompleteReadError`` (the driver reused a keep-alive
connection uvicorn had just closed after 5 s idle) are the driver's.

Fifth round: where the tail came from, and the fix (2026-11-25 10:15-10:40 UTC, SQLite, web,
2 workers, ``--trace``, fresh copy of one demo store per run; the shared machine at load
average **15-20** from other sessions' tests, Spark and model training, so the server got
about half a core and no run reached 200/s: compare the runs with each other, not with the
goal). "before" is the write per request (``KEHU_RECS_IMPRESSION_FLUSH_MS=0``, the code as
it was), "after" the impressions written behind the request plus the collector settings:

======================================  ==========  ==========  ==========  ==========
phase / figure (ms unless said)         before 30s  after 30s   after 60s   after, PG
======================================  ==========  ==========  ==========  ==========
achieved rate (200/s offered)           8.6/s       66.2/s *    104.8/s     65.0/s
server CPU per request                  33.5        8.1 *       5.7         7.9
``BEGIN IMMEDIATE`` (write lock) p50    80          0.1         0.1
``BEGIN IMMEDIATE`` p99 / max           16,330 /    182 /       133 / 748
                                        18,313      1,196
time waiting for the write lock, total  466 s       6.9 s       10.3 s
  of time spent inside the app, total   601 s       469 s       918 s
write transactions                      447 (1/req) 386         988 (1/7)   568 (1/7)
feedback read p50 / p99                 0.2 / 77    0.2 / 37    0.3 / 52    5.6 / 113
collector: gen0 / gen1 / gen2 pauses    147/13/2    887/81/7    64/6/0      59/6/0
gen2 pause p50                          1,547       326         none
======================================  ==========  ==========  ==========  ==========

(* before the collector settings.) Lists stored after the server stopped: 6,673 for 6,625
answered 200 (SQLite, 60 s) and 4,099 for 4,051 (PostgreSQL): none lost (the rest were
answered after the driver had given up on them). On PostgreSQL, at load average 17-21, every
statement waited for a starved ``postgres`` backend (p50 5-12 ms per SELECT, 6.5 ms per
COMMIT): four reads and a commit per request are its cost there, not their rows.

**The tail was SQLite's one write lock.** Every web request
began ``BEGIN IMMEDIATE`` for its ten impressions; with two workers and eight requests in
each, most waited in SQLite's busy handler (which sleeps 1, 2, 5 ... 100 ms between tries,
so the wait is far longer than the lock is held): 78 % of the time requests spent inside
the application was that wait, and throughput collapsed to the lock's pace. Queued and
stored every 50 ms in one transaction, the impressions take one write transaction per ~7
requests instead of one per request, and the lock wait is gone from the request path (0.1
ms median, 1 % of the time in the application). The second source was the collector: a full
collection walks everything alive (the remembered proposals are ~10^5 objects) and pauses
every request in flight; ``gc.freeze()`` after start-up and a young-generation threshold of
10,000 instead of 700 made full collections disappear from a 60 s run (and young ones 14x
rarer). The feedback read was not a tail source at these history sizes (p50 0.2-0.3 ms at up
to ~150 events per customer); it grows with the history and is the next cost to cut (a
per-process summary per customer, refreshed by the events newer than the last one read).
What is left in these loaded runs is waiting for a core: the time in the application is
~20x the SQL it runs. **The goal (p99 < 20 ms at 200/s) could not be judged here**; the lead's
quiet re-measure is the judge (``SUMMARY`` line).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _serving import demo_admin_token, group_cpu_seconds, percentile, wait_up

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
        "latency_ms_from_due": {f"p{q}": round(percentile(latencies, q), 2) for q in (50, 95, 99)}
        | {"max": round(max(latencies, default=float("nan")), 2)},
        "latency_ms_from_sent": {f"p{q}": round(percentile(service, q), 2) for q in (50, 95, 99)},
    }


class _Connection:
    """One keep-alive HTTP/1.1 connection: a request written, the answer read by hand.

    At 200 requests/s on two cores the driver competes with the server it measures, so it is
    kept to a few socket calls per request; its own CPU time is reported
    (``driver_cpu_ms_per_request``, interpreter start included).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status


async def _drive(
    url: str,
    token: str,
    ids: list[int],
    rate: float,
    seconds: float,
    channel: str,
    *,
    sequential: bool = False,
    connections: int = 32,
) -> None:
    n = int(rate * seconds)
    rng = random.Random(20261125)
    targets = [rng.choice(ids) for _ in range(n)]
    host, port = url.removeprefix("http://").split(":")
    requests = {
        customer_id: (
            f"GET /api/v1/customers/{customer_id}/recommendations?k=10&channel={channel} "
            f"HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        for customer_id in set(targets)
    }
    idle: list[_Connection] = []
    slots = asyncio.Semaphore(connections)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    _STATE["t0"] = time.monotonic() + 0.2

    async def one(i: int, due: float) -> None:
        async with slots:
            await one_on_a_connection(i, due)

    async def one_on_a_connection(i: int, due: float) -> None:
        sent = loop.time()
        connection = idle.pop() if idle else None
        try:
            if connection is not None:
                try:
                    status = await asyncio.wait_for(
                        connection.get(requests[targets[i]]), timeout=5.0
                    )
                except asyncio.IncompleteReadError as exc:
                    if exc.partial:
                        raise
                    # The server closed this keep-alive connection while it sat idle
                    # (uvicorn: 5 s): as a client would, send again on a new one.
                    connection.writer.close()
                    connection = None
            if connection is None:
                connection = _Connection(*await asyncio.open_connection(host, int(port)))
                status = await asyncio.wait_for(connection.get(requests[targets[i]]), timeout=5.0)
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
        ) as exc:
            _count_error(type(exc).__name__)
            if connection is not None:
                connection.writer.close()
            return
        done = loop.time()
        idle.append(connection)
        if status != 200:
            _count_error(str(status))
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
        times = os.times()
        summary = _summary() | {"driver_cpu_s": round(times.user + times.system, 2)}
        print(json.dumps(summary), flush=True)
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


def _wait_idle(group: int, seconds: float = 120) -> None:
    """Wait until the server's processes use under a tenth of a core (all workers started)."""
    deadline = time.monotonic() + seconds
    before = group_cpu_seconds(group)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = group_cpu_seconds(group)
        if now - before < 0.1:
            return
        before = now


def _warm_up(url: str, headers: dict[str, str], ids: list[int]) -> None:
    """Ask for recommendations on parallel connections, so every worker loads the model."""

    async def warm() -> None:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            for start in range(0, len(ids), 8):
                await asyncio.gather(
                    *(
                        client.get(
                            f"/api/v1/customers/{customer_id}/recommendations",
                            params={"k": 10, "channel": "console"},
                        )
                        for customer_id in ids[start : start + 8]
                    )
                )

    asyncio.run(warm())


def main() -> None:
    """Build the store, start the server, drive it from a second process, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--channel", default="web")
    parser.add_argument("--store", type=Path)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--access-log", action="store_true", help="let the server log every request"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=32,
        help="keep-alive connections at most, as a proxy in front of the server keeps; a "
        "request due while all are busy waits (its latency still counts from when it was due)",
    )
    parser.add_argument(
        "--database-url",
        help="serve this database (say, PostgreSQL) instead of the SQLite file in --store",
    )
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="one request at a time (paced at --rate when the server keeps up): service "
        "latency without concurrency",
    )
    parser.add_argument(
        "--trace",
        type=Path,
        help="time the phases inside the server (benchmarks/recs/_serve_trace) into this "
        "folder and print their percentiles",
    )
    parser.add_argument("--drive", nargs=3, metavar=("URL", "TOKEN", "IDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        url, token, ids_file = args.drive
        ids = json.loads(Path(ids_file).read_text())
        _drive_and_report(
            url,
            token,
            ids,
            args.rate,
            args.seconds,
            args.channel,
            sequential=args.sequential,
            connections=args.connections,
        )
        return

    store = args.store or Path(tempfile.mkdtemp(prefix="kehu-load-"))
    store.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "KEHU_DATABASE_URL": args.database_url or f"sqlite:///{store / 'kehu.db'}",
        "KEHU_DATA_DIR": str(store),
        "KEHU_ANALYZE_EVERY_HOURS": "0",
        "KEHU_VOICE_SCORE_EVERY_MINUTES": "0",
        "KEHU_WEBHOOK_DELIVER_EVERY_SECONDS": "0",
        "KEHU_ENVIRONMENT": "development",
    }
    started = time.perf_counter()
    _kehu(env, "demo", "--no-serve")
    print(f"store ready in {store} ({time.perf_counter() - started:.0f} s)")
    url = f"http://127.0.0.1:{args.port}"
    server_env = dict(env)
    if args.trace:
        args.trace.mkdir(parents=True, exist_ok=True)
        for old in args.trace.glob("trace-*.tsv"):
            old.unlink()
        server_env["KEHU_SERVE_TRACE"] = str(args.trace)
        server_env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent / "_serve_trace"), env.get("PYTHONPATH", "")]
        )
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [
            sys.executable,
            "-m",
            "kehu",
            "serve",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
            *([] if args.access_log else ["--no-access-log"]),
        ],
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_up(url)
        token = demo_admin_token(env["KEHU_DATABASE_URL"])
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
        _wait_idle(server.pid)  # every worker has started, not only the first
        _warm_up(url, headers, ids[:200])
        traced_from = time.perf_counter()  # the server's clock: perf_counter is system-wide
        ids_file = store / "load-ids.json"
        ids_file.write_text(json.dumps(ids))
        server_cpu_before = group_cpu_seconds(server.pid)
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
                "--connections",
                str(args.connections),
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
        result["server_cpu_s"] = round(group_cpu_seconds(server.pid) - server_cpu_before, 2)
        result["server_cpu_ms_per_request"] = round(
            1000 * result["server_cpu_s"] / max(result["n_ok"], 1), 2
        )
        result["driver_cpu_ms_per_request"] = round(
            1000 * result["driver_cpu_s"] / max(result["n_requests"], 1), 3
        )
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    report = {
        "database": "postgresql" if args.database_url else "sqlite (embedded default)",
        "workers": args.workers,
        "rate": args.rate,
        "seconds": args.seconds,
        "channel": args.channel,
        "mode": "sequential" if args.sequential else "open loop",
        "connections": 1 if args.sequential else args.connections,
        "k": 10,
        "n_customers": len(ids),
        "goal": "p99 < 20 ms at 200 requests/s",
        "load_average": os.getloadavg(),
        **result,
    }
    if args.trace:
        time.sleep(1.5)  # the workers write their traces once a second
        report["phases_ms"] = _phases(args.trace, since=traced_from)
    print(json.dumps(report, indent=2))
    out = Path(__file__).resolve().parents[1] / "results"
    out.mkdir(exist_ok=True)
    path = out / f"serve_load-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"written to {path}")
    print(_summary_line(report))


def _phases(folder: Path, *, since: float) -> dict[str, dict[str, float]]:
    """Percentiles of each phase the server's trace timed during the load (not the warm-up)."""
    times: dict[str, list[float]] = {}
    for path in folder.glob("trace-*.tsv"):
        for line in path.read_text().splitlines():
            label, start, ms, _ = line.split("\t")
            if float(start) >= since:
                times.setdefault(label, []).append(float(ms))
    return {
        label: {
            "n": len(values),
            "p50": round(percentile(values, 50), 2),
            "p99": round(percentile(values, 99), 2),
            "max": round(max(values), 2),
            "total_s": round(sum(values) / 1000, 2),
            "n_over_20ms": sum(1 for v in values if v > 20),
        }
        for label, values in sorted(times.items(), key=lambda kv: -sum(kv[1]))
    }


def _summary_line(report: dict[str, Any]) -> str:
    """One line to compare runs by: what was asked, what came back, the goal met or not."""
    due = report["latency_ms_from_due"]
    errors = sum(report["errors"].values())
    load = "/".join(f"{x:.1f}" for x in report["load_average"])
    met = report["achieved_rate"] >= 0.98 * report["rate"] and due["p99"] < 20 and not errors
    return (
        f"SUMMARY {report['database'].split()[0]} {report['channel']} {report['mode']} "
        f"{report['rate']:g}/s x {report['seconds']:g} s, {report['workers']} workers: "
        f"achieved {report['achieved_rate']}/s, p50 {due['p50']} p95 {due['p95']} "
        f"p99 {due['p99']} max {due['max']} ms, {errors} errors, server CPU "
        f"{report['server_cpu_ms_per_request']} ms/request, load average {load}; "
        f"goal p99 < 20 ms at 200/s: {'met' if met and report['rate'] >= 200 else 'not met'}"
    )


if __name__ == "__main__":
    main()
