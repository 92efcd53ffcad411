"""Webhook delivery throughput on loopback against its anchor, raw httpx POSTs, in one run.

    .venv/bin/python benchmarks/webhooks/delivery.py [--events 300]

Queues N customer.created events for one subscription (temp SQLite store), then times
``deliver_due`` (claim, sign, POST, record each attempt) against a local receiver; the anchor
is the same number of plain httpx POSTs of the same bodies to the same receiver with one
client. The ratio is kehu's cost per delivery over the bare HTTP round trip.
"""

import argparse
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from kehu.core import Actor, Settings
from kehu.customers import create_customer
from kehu.jobs.webhooks import deliver_due
from kehu.store import make_engine, make_session_factory, session_scope, upgrade_to_head
from kehu.webhooks import create_subscription


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else a 40 ms delayed ACK per request dominates

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_: object) -> None:
        return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300)
    n = parser.parse_args().events
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    actor = Actor.system("benchmark")
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{os.path.join(tmp, 'kehu.db')}"
        upgrade_to_head(db)
        engine = make_engine(db)
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            create_subscription(session, name="b", url=url, event_types=["*"], actor=actor)
            for i in range(n):
                create_customer(session, actor=actor, name=f"C{i}", external_id=f"B-{i}")
        settings = Settings(environment="test", database_url=db)
        body = b'{"data":{"customer_id":1,"external_id":"B-1"},"type":"customer.created"}'
        with httpx.Client() as client:
            started = time.perf_counter()
            for _ in range(n):
                client.post(url, content=body, headers={"content-type": "application/json"})
            anchor = time.perf_counter() - started
            started = time.perf_counter()
            run = deliver_due(factory, settings, limit=n, client=client)
            kehu = time.perf_counter() - started
        engine.dispose()
    server.shutdown()
    if run.n_delivered != n:
        raise SystemExit(f"only {run.n_delivered} of {n} delivered: {run}")
    print(f"load average: {os.getloadavg()}")
    print(f"anchor (plain httpx POSTs): {n / anchor:,.0f}/s, {anchor / n * 1000:.2f} ms each")
    print(f"kehu deliver_due:            {n / kehu:,.0f}/s, {kehu / n * 1000:.2f} ms each")
    print(f"ratio kehu / anchor: {kehu / anchor:.2f}x")


if __name__ == "__main__":
    main()
