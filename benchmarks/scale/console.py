"""Console and API pages at a million customers on PostgreSQL (issue 8 §3).

Creates a throwaway database on the server in ``--admin-url`` (trust auth), brings it to the
schema head, fills it with a seeded synthetic store *inside PostgreSQL* (``INSERT ... SELECT``
over ``generate_series``: no rows travel through Python, so 1M customers, 2M identities, ~4M
orders, 1M value scores, 1M health rows, tickets and tasks load in a few minutes), runs
``ANALYZE``, stores the value run's dashboard figures as a real run does at its end (timed:
what a run pays so that the dashboards need not), then times the main pages through the real
ASGI app in-process (Starlette's ``TestClient``, a signed-in console session and an API token,
the app's own pooled engine).

    .venv/bin/python benchmarks/scale/console.py --customers 1000000
    .venv/bin/python benchmarks/scale/console.py --reuse --repeat 15   # time again, no reload
    .venv/bin/python benchmarks/scale/console.py --reuse --store-figures  # (re)store, then time
    .venv/bin/python benchmarks/scale/console.py --drop                 # drop the database

p50/p95 per page over ``--repeat`` requests after one warm-up request. A timing, not a test.
"""

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable

import psycopg

ADMIN_EMAIL = "bench-admin@example.test"
PASSWORD = "bench-password-123456"  # noqa: S105 (a throwaway benchmark database)
N_OWNERS = 20

_GENERATE = [
    # Staff: one admin (benchmark user) and N_OWNERS agents who own customers.
    """
    INSERT INTO users (email, name, password_hash, role, locale, is_active, created_at, updated_at)
    SELECT 'agent' || g || '@example.test', 'Agent ' || g, '!', 'agent', 'en', true, now(), now()
    FROM generate_series(1, {owners}) g
    """,
    """
    INSERT INTO customers (external_id, kind, name, email, phone, country, city, notes, owner_id,
                           merged_into_id, is_active, created_at, updated_at)
    SELECT 'EXT-' || g,
           CASE WHEN g % 10 = 0 THEN 'organisation' ELSE 'person' END,
           (ARRAY['Wang','Li','Zhang','Liu','Chen','Yang','Huang','Zhao','Smith','Jones',
                  'Garcia','Müller','Rossi','Tanaka','Kim','Nguyen'])[1 + g % 16] || ' ' ||
           (ARRAY['Wei','Fang','Min','Jing','Lei','Yan','Anna','Ben','Carla','David','Emma',
                  'Felix','Grace','Hugo','Ines','Jun','Kai'])[1 + (g / 16) % 17] || ' ' || g,
           'user' || g || '@mail' || (g % 97) || '.example.com',
           '+86138' || lpad(g::text, 8, '0'),
           (ARRAY['CN','CN','CN','US','DE','FR','JP','GB'])[1 + g % 8],
           (ARRAY['Shanghai','Beijing','Shenzhen','Berlin','Paris','Tokyo'])[1 + g % 6],
           '',
           CASE WHEN g % 3 = 0  -- the benchmark admin (first user) owns 1 in 21 of these
                THEN (SELECT array_agg(id ORDER BY id) FROM users)[1 + (g / 3) % ({owners} + 1)]
           END,
           NULL, true,
           now() - (g % 730) * interval '1 day', now()
    FROM generate_series(1, {customers}) g
    """,
    """
    INSERT INTO identities (customer_id, kind, value, source, verified, created_at, updated_at)
    SELECT id, 'email', email, 'bench', true, created_at, created_at FROM customers
    UNION ALL
    SELECT id, 'phone', phone, 'bench', false, created_at, created_at FROM customers
    """,
    # About 4 orders per customer (0..8, skewed), spread over two years.
    """
    INSERT INTO orders (external_id, customer_id, kind, ordered_at, channel, currency, country,
                        total, created_at, updated_at)
    SELECT 'ORD-' || c.id || '-' || k, c.id, CASE WHEN k = 7 THEN 'return' ELSE 'sale' END,
           now() - ((c.id * 7919 + k * 104729) % 730) * interval '1 day'
                 - ((c.id + k) % 86400) * interval '1 second',
           (ARRAY['web','store','app','wechat'])[1 + (c.id + k) % 4], 'CNY', c.country,
           round((20 + ((c.id * 31 + k * 17) % 2000))::numeric, 2), now(), now()
    FROM customers c
    CROSS JOIN LATERAL generate_series(1, (c.id * 2654435761 % 9)::int) k
    """,
    """
    INSERT INTO value_runs (status, started_at, finished_at, started_by, observation_end,
                            calibration_end, horizon_weeks, discount_rate_annual, vip_share,
                            currency, n_customers, n_scored, n_orders, n_vip, n_owner_changes,
                            total_clv, parameters, metrics, message, created_at, updated_at)
    SELECT 'succeeded', now() - interval '1 hour', now(), 'bench', current_date, NULL, 52, 0.1,
           0.05, 'CNY', count(*), count(*), 0, count(*) / 20, 0, 0, '{{}}', '{{}}', '', now(),
           now()
    FROM customers
    """,
    """
    INSERT INTO customer_values (customer_id, run_id, frequency, recency, t, monetary_value,
        p_alive, expected_purchases, expected_spend, clv, value_rank, value_percentile, tier,
        rfm_r, rfm_f, rfm_m, rfm_segment, total_spend, last_purchase_on, computed_at)
    SELECT id, (SELECT max(id) FROM value_runs), (id % 9)::int, (id % 100)::float, 100.0,
           round((id * 13 % 900)::numeric, 2), ((id * 37) % 1000) / 1000.0, (id % 50) / 10.0,
           round((id * 7 % 3000)::numeric, 2), round((id * 7919 % 1000003)::numeric / 100, 2),
           row_number() OVER (ORDER BY id * 7919 % 1000003 DESC, id),
           1 - ((id * 7919 % 1000003)::float / 1000003),
           CASE WHEN id * 7919 % 1000003 > 950000 THEN 'vip'
                WHEN id * 7919 % 1000003 > 750000 THEN 'high'
                WHEN id * 7919 % 1000003 > 350000 THEN 'medium' ELSE 'low' END,
           1 + id % 5, 1 + (id / 5) % 5, 1 + (id / 25) % 5,
           (ARRAY['champions','loyal','at_risk','hibernating','new','promising'])[1 + id % 6],
           round((id * 13 % 9000)::numeric, 2), current_date - (id % 700)::int, now()
    FROM customers
    """,
    """
    INSERT INTO health_runs (status, started_at, finished_at, started_by, as_of, window_days,
                             n_customers, n_tasks, metrics, message, created_at, updated_at)
    SELECT 'succeeded', now() - interval '1 hour', now(), 'bench', current_date, 180, count(*),
           0, '{{}}', '', now(), now()
    FROM customers
    """,
    """
    INSERT INTO customer_health (customer_id, run_id, stage, previous_stage, churn_risk,
                                 previous_risk, p_alive, evidence, computed_at)
    SELECT id, (SELECT max(id) FROM health_runs),
           (ARRAY['new','developing','mature','price_driven','at_risk','lapsed'])[1 + id % 6],
           (ARRAY['new','developing','mature','price_driven','at_risk','lapsed'])[1 + id / 7 % 6],
           ((id * 7907) % 1000) / 1000.0, ((id * 31) % 1000) / 1000.0,
           ((id * 37) % 1000) / 1000.0, '{{}}', now()
    FROM customers
    """,
    # 0.3 tickets per customer; 10 % of them still open.
    """
    INSERT INTO service_tickets (external_id, subject, channel, status, customer_id, requester,
        in_triage, tier, opened_at, n_reopened, currency, created_at, updated_at, version)
    SELECT 'T-' || g, 'Question about order ' || g,
           (ARRAY['email','phone','chat','api'])[1 + g % 4],
           (ARRAY['new','open','pending','resolved','closed','closed','closed','closed','closed',
                  'closed'])[1 + g % 10],
           1 + (g::bigint * 7919) % {customers}, 'user' || g || '@example.com', g % 17 = 0,
           (ARRAY['vip','high','medium','low'])[1 + g % 4],
           now() - (g % 700) * interval '1 day', 0, 'CNY', now(), now(), 1
    FROM generate_series(1, {tickets}) g
    """,
    """
    INSERT INTO relation_tasks (customer_id, kind, title, owner_id, due_at, status, evidence,
        dedupe_key, source, opened_at, closed_at, closed_by, note, created_at, updated_at)
    SELECT 1 + (g::bigint * 104729) % {customers}, 'churn_risk', 'Call about churn risk ' || g,
           (SELECT min(id) FROM users WHERE role = 'agent') + g % {owners},
           now() + (g % 60 - 30) * interval '1 day',
           CASE WHEN g % 4 = 0 THEN 'open' ELSE 'done' END, '{{}}', 'bench:' || g, 'bench',
           now() - (g % 90) * interval '1 day', NULL, '', '', now(), now()
    FROM generate_series(1, {tasks}) g
    """,
]


def _db_url(admin_url: str, name: str) -> str:
    return re.sub(r"/[^/]*$", f"/{name}", admin_url)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_and_load(admin_url: str, name: str, customers: int) -> None:
    """Create database ``name``, migrate it to head and fill it; print each step's time."""
    from kehu.core import Actor
    from kehu.store import make_engine, make_session_factory, upgrade_to_head
    from kehu.users import Role, create_user

    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _db_url(admin_url, name)
    started = time.perf_counter()
    upgrade_to_head(url)
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        create_user(
            session,
            email=ADMIN_EMAIL,
            name="Bench admin",
            password=PASSWORD,
            role=Role.ADMIN,
            actor=Actor.system("bench"),
        )
        session.commit()
    print(f"schema + admin: {time.perf_counter() - started:.1f} s")
    sizes = {"customers": customers, "owners": N_OWNERS}
    sizes |= {"tickets": customers * 3 // 10, "tasks": max(customers // 20, 10)}
    total = time.perf_counter()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        for sql in _GENERATE:
            t0 = time.perf_counter()
            cur = conn.execute(sql.format(**sizes))
            table = sql.split("INTO", 1)[1].split()[0]
            print(f"  {table:<16} {cur.rowcount:>10,} rows {time.perf_counter() - t0:6.1f} s")
        t0 = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze  {time.perf_counter() - t0:6.1f} s")
    print(f"load total: {time.perf_counter() - total:.1f} s")
    store_figures(url)


def store_figures(url: str) -> None:
    """Store the latest value run's dashboard figures, as ``kehu.jobs.value`` does."""
    from kehu.store import make_engine, make_session_factory
    from kehu.value import latest_value_run, store_dashboard_figures

    factory = make_session_factory(make_engine(url))
    with factory() as session:
        run = latest_value_run(session)
        if run is None:
            raise SystemExit("no successful value run to store figures for")
        t0 = time.perf_counter()
        store_dashboard_figures(session, run)
        session.commit()
    print(f"  value run {run.id}: dashboard figures stored in {time.perf_counter() - t0:.1f} s")


def _pages(owner_id: int, customer_id: int) -> dict[str, str]:
    return {
        "console: search by name": "/customers?q=zhang+wei+17",
        "console: search by e-mail": "/customers?q=user424242@mail",
        "console: search by phone": "/customers?q=13800424242",
        "console: search by external id": "/customers?q=EXT-424242",
        "console: customer list (no filter)": "/customers",
        "console: customer 360": f"/customers/{customer_id}",
        "console: home dashboard": "/",
        "console: value dashboard": "/value",
        "console: my customers (owner)": "/me/customers",
        "console: service queue": "/service",
        "console: health page": "/health",
        "console: tasks dashboard": "/relations",
        "api: customers (page 1)": "/api/v1/customers",
        "api: customers q=e-mail": "/api/v1/customers?q=user424242@mail",
        "api: customers country+kind": "/api/v1/customers?country=DE&kind=organisation",
        "api: customers owner": f"/api/v1/customers?owner_id={owner_id}",
        "api: customer 360": f"/api/v1/customers/{customer_id}",
    }


def time_pages(admin_url: str, name: str, repeat: int, only: str | None) -> None:
    """Time each page ``repeat`` times (after a warm-up) through the in-process ASGI app."""
    from sqlalchemy import text
    from starlette.testclient import TestClient

    from kehu.app import create_app
    from kehu.core import Actor, Settings
    from kehu.store import make_engine, make_session_factory
    from kehu.users import create_api_token, find_user_by_email

    url = _db_url(admin_url, name)
    settings = Settings(database_url=url)  # type: ignore[call-arg]
    factory = make_session_factory(make_engine(url, connections=4))
    with factory() as session:
        user = find_user_by_email(session, ADMIN_EMAIL)
        if user is None:
            raise SystemExit(f"{name} has no {ADMIN_EMAIL}: load it first (without --reuse)")
        _, token = create_api_token(session, user, name="bench", actor=Actor.system("bench"))
        owner_id = user.id
        customer_id = session.execute(
            text(  # a customer in the middle, with orders, a score and tickets
                "SELECT customer_id FROM service_tickets WHERE customer_id >= "
                "(SELECT max(id) / 2 FROM customers) ORDER BY customer_id LIMIT 1"
            )
        ).scalar_one()
        session.commit()
    app = create_app(settings, factory)
    client = TestClient(app)  # no `with`: the periodic jobs stay off
    page = client.get("/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if csrf is None:
        raise SystemExit("the login page shows no CSRF field")
    login = {"email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": csrf[1], "next": "/"}
    response = client.post("/login", data=login, follow_redirects=False)
    if response.status_code != 303:
        raise SystemExit(f"signing in failed: {response.status_code} {response.text[:300]}")
    api = {"Authorization": f"Bearer {token}"}
    print(f"{'page':<38} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, path in _pages(owner_id, customer_id).items():
        if only and only not in label:
            continue
        headers = api if path.startswith("/api/") else {}
        get: Callable[[], int] = lambda: client.get(path, headers=headers).status_code  # noqa: B023,E731
        status = get()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            get()
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(
            f"{label:<38} {status:>6} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "KEHU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="any database on the server; the benchmark database is created next to it",
    )
    parser.add_argument("--name", default="kehu_bench_scale")
    parser.add_argument("--reuse", action="store_true", help="time an already loaded database")
    parser.add_argument("--drop", action="store_true", help="drop the database and stop")
    parser.add_argument(
        "--store-figures",
        action="store_true",
        help="with --reuse: store the value run's dashboard figures again before timing",
    )
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--only", help="time only pages whose label contains this")
    args = parser.parse_args(argv)
    if args.drop:
        with psycopg.connect(_libpq(args.admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.name}"')
        return 0
    if not args.reuse:
        create_and_load(args.admin_url, args.name, args.customers)
    elif args.store_figures:
        store_figures(_db_url(args.admin_url, args.name))
    print(f"load average: {os.getloadavg()}")
    time_pages(args.admin_url, args.name, args.repeat, args.only)
    print(f"load average: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
