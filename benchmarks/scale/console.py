"""Console and API pages at a million customers on PostgreSQL (issue 8 §3).

Creates a throwaway database on the server in ``--admin-url`` (trust auth), brings it to the
schema head, fills it with a seeded synthetic store *inside PostgreSQL* (``INSERT ... SELECT``
over ``generate_series``: no rows travel through Python, so 1M customers, 2M identities, ~4M
orders, 1M value scores, 1M health rows, tickets and tasks load in a few minutes), runs
``ANALYZE``, stores the value run's dashboard figures as a real run does at its end (timed:
what a run pays so that the dashboards need not), then times the main pages through the real
ASGI app in-process (Starlette's ``TestClient``, a signed-in console session and an API token,
the app's own pooled engine), once per role (issue 9 §1: record-level scopes).

The staff is a small company: a sales department of 20 owners (the benchmark owner among them)
who own a third of the customers with the benchmark admin, and the B2B accounts' contacts; a
service desk (the benchmark manager and agent, 14 more agents), billing and logistics desks.
95 % of the tickets are routed to a desk (60 % service) and assigned to one of its agents
unless new; 5 % wait in triage. A tenth of the tasks are unowned.

    .venv/bin/python benchmarks/scale/console.py --customers 1000000
    .venv/bin/python benchmarks/scale/console.py --reuse --repeat 15   # time again, no reload
    .venv/bin/python benchmarks/scale/console.py --reuse --role owner agent  # some roles only
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
from typing import Any

import psycopg

ADMIN_EMAIL = "bench-admin@example.test"
PASSWORD = "bench-password-123456"  # noqa: S105 (a throwaway benchmark database)
#: The signed-in users, one per role: (e-mail, department code).
BENCH_USERS = {
    "admin": (ADMIN_EMAIL, None),
    "manager": ("bench-manager@example.test", "service"),
    "owner": ("bench-owner@example.test", "sales"),
    "agent": ("bench-agent@example.test", "service"),
}
DEPARTMENTS = {
    "sales": "Sales",
    "service": "Service desk",
    "billing": "Billing",
    "logistics": "Logistics",
}
N_OWNERS = 19  # generated owners; with the benchmark owner and admin, 21 own customers
N_AGENTS = 30  # generated agents: 14 service, 8 billing, 8 logistics

_GENERATE = [
    # Staff beside the benchmark users: owners in sales, agents on the three desks.
    """
    INSERT INTO users (email, name, password_hash, role, department_id, locale, is_active,
                       created_at, updated_at)
    SELECT 'owner' || g || '@example.test', 'Owner ' || g, '!', 'owner',
           (SELECT id FROM departments WHERE code = 'sales'), 'en', true, now(), now()
    FROM generate_series(1, {owners}) g
    UNION ALL
    SELECT 'agent' || g || '@example.test', 'Agent ' || g, '!', 'agent',
           (SELECT id FROM departments WHERE code = (ARRAY['service','billing','logistics'])
                [CASE WHEN g <= 14 THEN 1 WHEN g <= 22 THEN 2 ELSE 3 END]),
           'en', true, now(), now()
    FROM generate_series(1, {agents}) g
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
           CASE WHEN g % 3 = 0  -- the benchmark admin owns 1 in 21 of these, as each owner
                THEN (SELECT array_agg(id ORDER BY id) FROM users
                      WHERE role IN ('admin', 'owner'))[1 + (g / 3) % ({owners} + 2)]
           END,
           NULL, true,
           now() - (g % 730) * interval '1 day', now()
    FROM generate_series(1, {customers}) g
    """,
    # Two contacts (the next two customers, persons) for each organisation.
    """
    INSERT INTO contacts (account_id, person_id, role, title, is_primary, created_at, updated_at)
    SELECT a.id, p.id, (ARRAY['decision_maker','procurement'])[k], '', k = 1, now(), now()
    FROM customers a
    CROSS JOIN generate_series(1, 2) k
    JOIN customers p ON p.id = a.id + k
    WHERE a.kind = 'organisation'
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
    # 0.3 tickets per customer; 30 % of them not closed. 1 in 20 (new) waits in triage; the
    # rest are routed 12:4:3 to service, billing and logistics and, unless new, assigned
    # round-robin to one of the desk's agents.
    """
    INSERT INTO service_tickets (external_id, subject, channel, status, customer_id, requester,
        department_id, assignee_id, in_triage, tier, opened_at, n_reopened, currency, created_at,
        updated_at, version)
    WITH desk AS (
        SELECT d.code, d.id, array_agg(u.id ORDER BY u.id) AS agents
        FROM departments d JOIN users u ON u.department_id = d.id AND u.role = 'agent'
        GROUP BY d.code, d.id
    ), t AS (
        SELECT g, (ARRAY['new','open','pending','resolved','closed','closed','closed','closed',
                         'closed','closed'])[1 + g % 10] AS status,
               CASE WHEN g % 20 = 0 THEN NULL WHEN g % 20 <= 12 THEN 'service'
                    WHEN g % 20 <= 16 THEN 'billing' ELSE 'logistics' END AS desk
        FROM generate_series(1, {tickets}) g
    )
    SELECT 'T-' || g, 'Question about order ' || g,
           (ARRAY['email','phone','chat','api'])[1 + g % 4], t.status,
           1 + (g::bigint * 7919) % {customers}, 'user' || g || '@example.com', desk.id,
           CASE WHEN t.status <> 'new' THEN desk.agents[1 + g / 20 % cardinality(desk.agents)]
           END,
           desk.id IS NULL, (ARRAY['vip','high','medium','low'])[1 + g % 4],
           now() - (g % 700) * interval '1 day', 0, 'CNY', now(), now(), 1
    FROM t LEFT JOIN desk ON desk.code = t.desk
    """,
    """
    INSERT INTO relation_tasks (customer_id, kind, title, owner_id, due_at, status, evidence,
        dedupe_key, source, opened_at, closed_at, closed_by, note, created_at, updated_at)
    SELECT 1 + (g::bigint * 104729) % {customers}, 'churn_risk', 'Call about churn risk ' || g,
           CASE WHEN g % 10 <> 0  -- 1 in 10 unowned (raised before an owner was set)
                THEN (SELECT array_agg(id ORDER BY id) FROM users
                      WHERE role IN ('admin', 'owner'))[1 + g % ({owners} + 2)]
           END,
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
    from kehu.users import Role, create_department, create_user

    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _db_url(admin_url, name)
    started = time.perf_counter()
    upgrade_to_head(url)
    factory = make_session_factory(make_engine(url))
    actor = Actor.system("bench")
    with factory() as session:
        for code, title in DEPARTMENTS.items():
            create_department(session, code=code, name=title, actor=actor)
        for role, (email, department) in BENCH_USERS.items():
            create_user(
                session,
                email=email,
                name=f"Bench {role}",
                password=PASSWORD,
                role=Role(role),
                department_code=department,
                actor=actor,
            )
        session.commit()
    print(f"schema + staff: {time.perf_counter() - started:.1f} s")
    sizes = {"customers": customers, "owners": N_OWNERS, "agents": N_AGENTS}
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
        "console: service dashboard": "/service/dashboard",
        "console: health page": "/health",
        "console: tasks dashboard": "/relations",
        "api: customers (page 1)": "/api/v1/customers",
        "api: customers q=e-mail": "/api/v1/customers?q=user424242@mail",
        "api: customers country+kind": "/api/v1/customers?country=DE&kind=organisation",
        "api: customers owner": f"/api/v1/customers?owner_id={owner_id}",
        "api: customer 360": f"/api/v1/customers/{customer_id}",
        "api: tickets (page 1)": "/api/v1/service/tickets",
        "api: tasks (page 1)": "/api/v1/relations/tasks",
        "api: orders (page 1)": "/api/v1/orders",
    }


def _sign_in(client: Any, email: str) -> None:
    page = client.get("/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if csrf is None:
        raise SystemExit("the login page shows no CSRF field")
    login = {"email": email, "password": PASSWORD, "csrf_token": csrf[1], "next": "/"}
    response = client.post("/login", data=login, follow_redirects=False)
    if response.status_code != 303:
        raise SystemExit(f"signing in failed: {response.status_code} {response.text[:300]}")


def time_pages(
    admin_url: str,
    name: str,
    repeat: int,
    only: str | None,
    roles: list[str],
    *,
    statement_timeout_s: float = 60,
    page_budget_s: float = 60,
) -> dict[str, dict[str, tuple[int, float]]]:
    """Time each page ``repeat`` times (after a warm-up) as each role; return status and p50.

    Each role signs in to its own console session and gets its own API token. The customer
    360 shows a customer in the middle of the ids that the role may see and that has a
    ticket; "customers owner" filters on the benchmark owner's book. A statement running
    past ``statement_timeout_s`` is cancelled (the page answers 500 and is reported so); a
    page stops being repeated once its requests took ``page_budget_s`` in all (the printed
    ``n`` says how many were timed).
    """
    from sqlalchemy import func, select
    from starlette.testclient import TestClient

    from kehu.access import customer_ids_for
    from kehu.app import create_app
    from kehu.core import Actor, Settings
    from kehu.customers import Customer
    from kehu.service import Ticket
    from kehu.store import make_engine, make_session_factory
    from kehu.users import create_api_token, find_user_by_email

    url = _db_url(admin_url, name)
    url += f"?options=-c%20statement_timeout%3D{int(statement_timeout_s * 1000)}"
    settings = Settings(database_url=url)  # type: ignore[call-arg]
    factory = make_session_factory(make_engine(url, connections=4))
    app = create_app(settings, factory)
    results: dict[str, dict[str, tuple[int, float]]] = {}
    with factory() as session:
        owner = find_user_by_email(session, BENCH_USERS["owner"][0])
        if owner is None:
            raise SystemExit(f"{name} has no benchmark owner: load it first (without --reuse)")
        middle = session.scalar(select(func.max(Customer.id) / 2))
        owner_id = owner.id
    for role in roles:
        with factory() as session:
            user = find_user_by_email(session, BENCH_USERS[role][0])
            if user is None:
                raise SystemExit(f"{name} has no bench {role}: load it first (without --reuse)")
            _, token = create_api_token(session, user, name="bench", actor=Actor.system("bench"))
            visible = customer_ids_for(user)
            query = select(func.min(Ticket.customer_id)).where(Ticket.customer_id >= middle)
            if visible is not None:
                query = query.where(Ticket.customer_id.in_(visible))
            customer_id = session.scalar(query)
            session.commit()
        client = TestClient(app, raise_server_exceptions=False)  # no `with`: no periodic jobs
        _sign_in(client, BENCH_USERS[role][0])
        api = {"Authorization": f"Bearer {token}"}
        print(f"\n{role} ({BENCH_USERS[role][0]}), customer {customer_id}")
        print(f"{'page':<38} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'n':>3}")
        results[role] = {}
        for label, path in _pages(owner_id, customer_id or 0).items():
            if only and only not in label:
                continue
            headers = api if path.startswith("/api/") else {}
            get: Callable[[], int] = lambda: client.get(path, headers=headers).status_code  # noqa: B023,E731
            t0 = time.perf_counter()
            status = get()
            warm_up = time.perf_counter() - t0
            times: list[float] = []
            for _ in range(repeat if status == 200 else 0):
                t0 = time.perf_counter()
                get()
                times.append((time.perf_counter() - t0) * 1000)
                if sum(times) / 1000 + warm_up >= page_budget_s:
                    break
            if not times:  # a page the role may not open (or one that timed out): not timed
                print(f"{label:<38} {status:>6} {'':>8} {'':>8} {warm_up * 1000:8.0f}")
                results[role][label] = (status, warm_up * 1000)
                continue
            times.sort()
            p50 = statistics.median(times)
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(f"{label:<38} {status:>6} {p50:8.1f} {p95:8.1f} {times[-1]:8.1f} {len(times):>3}")
            results[role][label] = (status, p50)
    return results


def print_matrix(results: dict[str, dict[str, tuple[int, float]]]) -> None:
    """Print page x role p50 in ms as a Markdown table (a page the role may not open: status)."""
    roles = list(results)
    labels = list(dict.fromkeys(label for pages in results.values() for label in pages))
    print("\n| page | " + " | ".join(roles) + " |")
    print("|---|" + "---:|" * len(roles))
    for label in labels:
        cells = []
        for role in roles:
            status, p50 = results[role].get(label, (0, float("nan")))
            if status == 500:  # a statement ran past the timeout
                cells.append(f"> {p50 / 1000:,.0f} s (timeout)")
            else:
                cells.append(f"{p50:,.0f}" if status == 200 else f"({status})")
        print(f"| {label} | " + " | ".join(cells) + " |")


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
    parser.add_argument(
        "--statement-timeout", type=float, default=60, help="seconds a statement may run"
    )
    parser.add_argument(
        "--page-budget", type=float, default=60, help="stop repeating a page after this (s)"
    )
    parser.add_argument("--only", help="time only pages whose label contains this")
    parser.add_argument(
        "--role",
        nargs="+",
        choices=list(BENCH_USERS),
        default=list(BENCH_USERS),
        help="the roles to sign in as (default: all four, one after another)",
    )
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
    results = time_pages(
        args.admin_url,
        args.name,
        args.repeat,
        args.only,
        args.role,
        statement_timeout_s=args.statement_timeout,
        page_budget_s=args.page_budget,
    )
    print(f"load average: {os.getloadavg()}")
    print_matrix(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
