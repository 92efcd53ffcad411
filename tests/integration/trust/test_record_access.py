"""Record-level access over every API route and console page (issue 9 §1, docs/access.md).

One data set per database, built once for the module inside an outer transaction; every case
runs in a savepoint rolled back afterwards. Two sides, A and B, each with a manager, an owner
and an agent of its department, and a customer (owned by the side's owner) with a ticket routed
to the side's department, an order, an interaction, a task, a planned surprise, a referral, a
merge and a linked public post; plus an unowned "pool" customer.

For each route and role:

* a route naming a record (in its path or body) answers that role's own record, and answers
  404 (422 when a request body names it; a role the route refuses answers 403 first) for the
  other side's record, and the denied change left the affected tables exactly as they were;
* every GET answers without showing any name, e-mail, subject or title of a record outside
  the role's scope (lists are filtered in their query), and the list routes that list records
  show the role's own.

``test_every_route_has_a_case`` fails when a route is added without a case here.
"""

import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session, sessionmaker

import kehu.web.routes
from kehu.api import API_PREFIX, ROUTERS
from kehu.app import create_app
from kehu.core import Settings
from kehu.customers import Customer, add_contact, merge_customers
from kehu.engagement import log_interaction
from kehu.ingest import run_import
from kehu.relations import add_surprise, open_task, plan_surprise, record_referral
from kehu.users import Role, create_api_token
from kehu.voice import Post, PostIn, upsert_post
from tests.factories import ACTOR, make_customer, make_order, make_user
from tests.factories.service import make_desk, make_ticket
from tests.factories.voice import make_voice
from tests.factories.webhooks import make_webhook
from tests.integration.web.conftest import csrf_of, sign_in

ROLES = ("admin", "manager_a", "manager_b", "owner_1", "owner_2", "agent_a", "agent_b")
SIDE = {"manager_a": "a", "owner_1": "a", "agent_a": "a"}
SIDE |= {"manager_b": "b", "owner_2": "b", "agent_b": "b"}
ROLE_OF = {name: Role(name.split("_")[0]) for name in ROLES}
#: The codes of "there is no such record" (out of scope looks exactly like that).
NOT_FOUND = {
    "customers.not_found",
    "customers.merge_not_found",
    "commerce.order_not_found",
    "service.ticket_not_found",
    "relations.task_not_found",
    "relations.gift_not_found",
    "relations.referral_not_found",
}


def marker(side: str, what: str) -> str:
    return f"Zq{side.upper()}{what}"


# ------------------------------------------------------------------------------ the case table
#
# kind:
#   "record" — the route reads or changes the record named by ``record`` (in its path or, for
#              ``in_body``, in its request body); checked in and out of scope, and unchanged
#              after a denied change;
#   "list"   — a GET listing records of ``lists`` (customer, ticket, task, order, gift,
#              referral): the role's own appear, nobody else's;
#   "open"   — not a record of a customer (configuration, public posts, aggregates, admin or
#              manager areas gated by role as today): GETs are checked to show nothing out of
#              scope; ``why`` says why the route is not scoped.


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    kind: str
    record: str = ""
    body: Any = None
    in_body: bool = False
    lists: str = ""
    why: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_web(self) -> bool:
        return not self.path.startswith(API_PREFIX)


def R(method: str, path: str, record: str, body: Any = None, *, in_body: bool = False) -> Case:
    return Case(method, path, "record", record=record, body=body, in_body=in_body)


def L(path: str, lists: str) -> Case:
    return Case("GET", path, "list", lists=lists)


def O(method: str, path: str, why: str, body: Any = None) -> Case:  # noqa: E743
    return Case(method, path, "open", body=body, why=why)


V1 = API_PREFIX
CONFIG = "configuration, not a customer's record (role-gated: test_permissions.py)"
ADMIN_AREA = "admin or manager area, as today (role-gated: test_permissions.py)"
PUBLIC = "public social posts and their workflow; a linked customer is blanked out of scope"
AGGREGATE = "aggregate figures, not records"
SELF = "the caller's own session or account"

API_CASES = [
    O("GET", f"{V1}/auth/me", SELF),
    L(f"{V1}/customers", "customer"),
    R("GET", f"{V1}/customers/{{customer}}", "customer"),
    O("POST", f"{V1}/customers", "creates a new customer"),
    R("PATCH", f"{V1}/customers/{{customer}}", "customer", {"city": "Leeds"}),
    R(
        "POST",
        f"{V1}/customers/{{customer}}/identities",
        "customer",
        {"kind": "wechat_openid", "value": "oX9"},
    ),
    R(
        "POST",
        f"{V1}/customers/{{customer}}/consents",
        "customer",
        {"channel": "email", "purpose": "marketing", "status": "granted"},
    ),
    O("POST", f"{V1}/customers/batch", "bulk upsert by external id (managers)"),
    R("POST", f"{V1}/customers/{{customer}}/merge", "customer", {"loser_id": "{spare}"}),
    R("POST", f"{V1}/merges/{{merge}}/undo", "merge"),
    R("GET", f"{V1}/customers/{{customer}}/export", "customer"),
    R("POST", f"{V1}/customers/{{customer}}/erase", "customer"),
    R("GET", f"{V1}/customers/{{customer}}/automated-decisions", "customer"),
    R(
        "PUT",
        f"{V1}/customers/{{customer}}/automated-decisions",
        "customer",
        {"opted_out": True},
    ),
    L(f"{V1}/orders", "order"),
    R("GET", f"{V1}/orders/{{order}}", "order"),
    R(
        "POST",
        f"{V1}/orders",
        "customer",
        {
            "external_id": "NEW-9",
            "customer_id": "{customer}",
            "ordered_at": "2010-05-01T09:00:00Z",
            "lines": [{"sku": "S1", "quantity": 1, "unit_price": "2.50"}],
        },
        in_body=True,
    ),
    L(f"{V1}/interactions", "interaction"),
    R(
        "POST",
        f"{V1}/interactions",
        "customer",
        {
            "customer_id": "{customer}",
            "channel": "phone",
            "direction": "inbound",
            "occurred_at": "2010-05-01T09:00:00Z",
        },
        in_body=True,
    ),
    L(f"{V1}/value/customers", "customer"),
    R("GET", f"{V1}/customers/{{customer}}/value", "customer"),
    O("GET", f"{V1}/value/summary", AGGREGATE),
    L(f"{V1}/me/customers", "customer"),
    O("POST", f"{V1}/value/runs", CONFIG),
    R("GET", f"{V1}/customers/{{customer}}/recommendations", "customer"),
    R(
        "POST",
        f"{V1}/events",
        "customer",
        {
            "events": [
                {
                    "event_id": "e-1",
                    "kind": "impression",
                    "customer_id": "{customer}",
                    "item_id": "S1",
                    "occurred_at": "2010-05-01T09:00:00Z",
                }
            ]
        },
        in_body=True,
    ),
    R(
        "POST",
        f"{V1}/service/tickets",
        "customer",
        {"body": "Where is my card?", "customer_id": "{customer}", "route": False},
        in_body=True,
    ),
    L(f"{V1}/service/tickets", "ticket"),
    R("GET", f"{V1}/service/tickets/{{ticket}}", "ticket"),
    R("POST", f"{V1}/service/tickets/{{ticket}}/messages", "ticket", {"body": "Hi"}),
    R("POST", f"{V1}/service/tickets/{{ticket}}/assign", "ticket", {"assignee_id": "{me}"}),
    R("POST", f"{V1}/service/tickets/{{ticket}}/status", "ticket", {"status": "pending"}),
    R(
        "POST",
        f"{V1}/service/tickets/{{ticket}}/category",
        "ticket",
        {"category_id": "{category}"},
    ),
    R("POST", f"{V1}/service/tickets/{{ticket}}/outcome", "ticket", {"rating": 5}),
    R(
        "POST",
        f"{V1}/service/tickets/{{ticket}}/decisions",
        "ticket",
        {"rule_code": "R1", "outcome": "refused", "steps": ["Checked"]},
    ),
    R(
        "POST",
        f"{V1}/service/tickets/{{ticket}}/customer",
        "ticket",
        {"customer_id": "{customer}"},
    ),
    O("POST", f"{V1}/service/mail", "creates tickets from mail (agents, managers)"),
    O("GET", f"{V1}/service/reports/trends", AGGREGATE),
    L(f"{V1}/service/reports/contradictions", "ticket"),
    L(f"{V1}/service/reports/sla", "ticket"),
    O("GET", f"{V1}/service/reports/quality", AGGREGATE),
    L(f"{V1}/relations/tasks", "task"),
    O("GET", f"{V1}/relations/tasks/dashboard", AGGREGATE + " (counts of visible tasks)"),
    R(
        "POST",
        f"{V1}/relations/tasks",
        "customer",
        {"customer_id": "{customer}", "title": "Visit", "due_at": "2026-12-01T09:00:00Z"},
        in_body=True,
    ),
    R("POST", f"{V1}/relations/tasks/{{task}}/close", "task", {"status": "done"}),
    R("POST", f"{V1}/relations/tasks/{{task}}/reassign", "task", {"owner_id": "{me}"}),
    R("GET", f"{V1}/relations/customers/{{customer}}/touches", "customer"),
    R(
        "POST",
        f"{V1}/relations/customers/{{customer}}/touches",
        "customer",
        {"kind": "service", "occurred_at": "2026-11-20T09:00:00Z"},
    ),
    L(f"{V1}/relations/gifts", "gift"),
    R("POST", f"{V1}/relations/gifts/{{gift}}/mark", "gift", {"status": "given"}),
    R(
        "POST",
        f"{V1}/relations/contacts",
        "customer",
        {"customer_id": "{customer}", "playbook": "campaign"},
        in_body=True,
    ),
    R("GET", f"{V1}/relations/customers/{{customer}}/ledger", "customer"),
    L(f"{V1}/relations/referrals", "referral"),
    R(
        "POST",
        f"{V1}/relations/referrals",
        "customer",
        {"referrer_id": "{customer}", "referred_id": "{spare}", "referred_on": "2026-11-02"},
        in_body=True,
    ),
    R("DELETE", f"{V1}/relations/referrals/{{referral}}", "referral"),
    L(f"{V1}/relations/referrals/value", "referral"),
    L(f"{V1}/health/customers", "customer"),
    R("GET", f"{V1}/customers/{{customer}}/health", "customer"),
    L(f"{V1}/voice/posts", "post"),
    O("GET", f"{V1}/voice/posts/{{post}}", PUBLIC),
    L(f"{V1}/voice/alerts", "alert"),
    O("GET", f"{V1}/voice/alerts/{{alert}}", PUBLIC),
    O("POST", f"{V1}/voice/alerts/{{alert}}/dismiss", PUBLIC),
    O("POST", f"{V1}/voice/alerts/{{alert}}/crisis", PUBLIC),
    R(
        "POST",
        f"{V1}/voice/polls/{{poll}}/votes",
        "customer",
        {"option_id": "{option}", "voter": "fan9", "customer_id": "{customer}"},
        in_body=True,
    ),
]

# Every other API route: configuration, public posts, aggregates, admin and manager areas.
_OPEN_PREFIXES = {
    f"{V1}/auth/": SELF,
    f"{V1}/imports": ADMIN_AREA,
    f"{V1}/users": ADMIN_AREA,
    f"{V1}/departments": ADMIN_AREA,
    f"{V1}/audit": ADMIN_AREA,
    f"{V1}/privacy/": ADMIN_AREA,
    f"{V1}/webhooks/": ADMIN_AREA,
    f"{V1}/service/categories": CONFIG,
    f"{V1}/service/sla-policies": CONFIG,
    f"{V1}/service/models/": CONFIG,
    f"{V1}/voice/": PUBLIC,
    f"{V1}/health/": AGGREGATE,
    f"{V1}/relations/": CONFIG,
}

WEB_CASES = [
    O("GET", "/favicon.ico", "a static file"),
    O("GET", "/login", SELF),
    O("POST", "/login", SELF),
    O("POST", "/logout", SELF),
    O("POST", "/lang", SELF),
    O("GET", "/", AGGREGATE),
    L("/customers", "customer"),
    R("GET", "/customers/{customer}", "customer"),
    R("GET", "/customers/{customer}/orders", "customer"),
    R("GET", "/customers/{customer}/interactions", "customer"),
    R("POST", "/customers/{customer}/merge", "customer", {"loser_id": "{spare}"}),
    R("POST", "/customers/{customer}/merges/{merge}/undo", "merge"),
    R("GET", "/customers/{customer}/health", "customer"),
    R("GET", "/customers/{customer}/recommendations", "customer"),
    R("GET", "/customers/{customer}/privacy/export", "customer"),
    R("GET", "/customers/{customer}/privacy/erase", "customer"),
    R("POST", "/customers/{customer}/privacy/erase", "customer"),
    R(
        "POST",
        "/customers/{customer}/privacy/automated-decisions",
        "customer",
        {"opted_out": "true"},
    ),
    R("GET", "/customers/{customer}/lately", "customer"),
    R("POST", "/customers/{customer}/touches", "customer", {"kind": "service"}),
    L("/health", "customer"),
    L("/value", "customer"),
    L("/me/customers", "customer"),
    L("/relations", "task"),
    R("POST", "/relations/tasks/{task}/close", "task", {"status": "done"}),
    R("POST", "/relations/tasks/{task}/reassign", "task", {"owner_id": "{me}"}),
    L("/relations/surprises", "gift"),
    R("POST", "/relations/gifts/{gift}", "gift", {"status": "given"}),
    L("/relations/referrals", "referral"),
    R(
        "POST",
        "/relations/referrals",
        "customer",
        {"referrer_id": "{customer}", "referred_id": "{spare}", "referred_on": "2026-11-02"},
        in_body=True,
    ),
    L("/service", "ticket"),
    R("GET", "/service/tickets/{ticket}", "ticket"),
    R("POST", "/service/tickets/{ticket}/reply", "ticket", {"body": "Hello"}),
    R("POST", "/service/tickets/{ticket}/status", "ticket", {"status": "pending"}),
    R("POST", "/service/tickets/{ticket}/category", "ticket", {"category_id": "{category}"}),
    R("POST", "/service/tickets/{ticket}/assign", "ticket", {"assignee_id": "{me}"}),
    R(
        "POST",
        "/service/tickets/{ticket}/decision",
        "ticket",
        {"rule_code": "R1", "outcome": "refused", "steps": "Checked"},
    ),
    R("POST", "/service/tickets/{ticket}/answer", "ticket", {"body": "We answer so."}),
    R("POST", "/service/tickets/{ticket}/customer", "ticket", {"customer_id": "{customer}"}),
    L("/service/dashboard", "ticket"),
    L("/voice", "post"),
    O("GET", "/voice/posts/{post}", PUBLIC),
    L("/voice/alerts", "alert"),
]

_WEB_OPEN_PREFIXES = {
    "/audit": ADMIN_AREA,
    "/imports": ADMIN_AREA,
    "/settings/webhooks": ADMIN_AREA,
    "/service/categories": CONFIG,
    "/service/sla-policies": CONFIG,
    "/service/new": "opens a new ticket (no customer on the form)",
    "/value/run": CONFIG,
    "/health/run": CONFIG,
    "/relations": CONFIG,
    "/voice": PUBLIC,
}


def _placeholder(path: str) -> str:
    """Return ``path`` with FastAPI's parameters in this module's names."""
    path = re.sub(r"\{(\w+?)_id\}", r"{\1}", path)
    return path.replace("{run}", "{import}").replace("{mapping}", "{mapping}")


def api_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, _placeholder(API_PREFIX + route.path))
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    )


def web_routes() -> list[tuple[str, str]]:
    found = []
    for info in pkgutil.iter_modules(kehu.web.routes.__path__):
        module = importlib.import_module(f"kehu.web.routes.{info.name}")
        router = getattr(module, "router", None)
        for route in getattr(router, "routes", []):
            if isinstance(route, APIRoute):
                found += [(m, _placeholder(route.path)) for m in route.methods]
    return sorted(found)


def _open_case(method: str, path: str, prefixes: dict[str, str]) -> Case | None:
    for prefix, why in prefixes.items():
        if path.startswith(prefix):
            return O(method, path, why)
    return None


def all_cases() -> list[Case]:
    """Return a case for every route: the tables above, then the open areas by prefix."""
    explicit = {(c.method, c.path): c for c in [*API_CASES, *WEB_CASES]}
    cases = list(explicit.values())
    for routes, prefixes in ((api_routes(), _OPEN_PREFIXES), (web_routes(), _WEB_OPEN_PREFIXES)):
        for method, path in routes:
            if (method, path) in explicit:
                continue
            case = _open_case(method, path, prefixes)
            if case is not None:
                cases.append(case)
    return cases


CASES = all_cases()


def test_every_route_has_a_case() -> None:
    """A route added without a case here (or an area prefix above) fails."""
    covered = {(c.method, c.path) for c in CASES}
    missing = sorted(set(api_routes()) | set(web_routes()) - covered)
    missing = [r for r in missing if r not in covered]
    assert missing == [], f"add these routes to tests/integration/trust/{__name__}: {missing}"
    assert all(c.why for c in CASES if c.kind == "open")


# ------------------------------------------------------------------------------ the data set


@dataclass
class World:
    """The module's data set, its app, clients and the connection every case runs in."""

    connection: Connection
    app: Any
    api: TestClient
    web: dict[str, TestClient]
    csrf: dict[str, str]
    tokens: dict[str, str]
    users: dict[str, int]
    ids: dict[str, dict[str, int]]  # side -> placeholder -> id
    shared: dict[str, int]
    markers: dict[str, dict[str, list[str]]]  # kind -> side -> strings


def _build(session: Session) -> dict[str, Any]:
    desk = make_desk(session)
    department = {"a": desk.cards, "b": desk.billing}
    users: dict[str, int] = {}
    tokens: dict[str, str] = {}
    for name in ROLES:
        user = make_user(
            session,
            ROLE_OF[name],
            email=f"{name}@example.com",
            name=f"User {name}",
            department_code=department[SIDE[name]].code if name in SIDE else None,
        )
        users[name] = user.id
        tokens[name] = create_api_token(session, user, name="t", actor=ACTOR)[1]
    shared = dict(make_voice(session))
    shared["category"] = desk.leaves["card_arrival"].id
    shared["policy"] = desk.policy.id
    shared.update(make_webhook(session))
    shared["import"] = run_import(
        session,
        kind="customers",
        data=b"external_id,name\nX-1,Somebody\n",
        filename="c.csv",
        actor=ACTOR,
        dry_run=True,
    ).id
    surprise = add_surprise(
        session, code="card9", name="Card", cost="3.00", moments=["birthday"], actor=ACTOR
    )
    ids: dict[str, dict[str, int]] = {}
    markers: dict[str, dict[str, list[str]]] = {}
    for side, owner in (("a", "owner_1"), ("b", "owner_2")):
        owner_id = users[owner]

        def customer(what: str, *, owner_id: int = owner_id, side: str = side) -> Customer:
            return make_customer(
                session,
                name=marker(side, what),
                kind="organisation" if what == "Org" else "person",
                identities=[("email", f"{marker(side, what).lower()}@example.com")],
                owner_id=owner_id,
            )

        main, spare, lost, org = (customer(w) for w in ("Main", "Spare", "Lost", "Org"))
        add_contact(session, account=org, person=spare, role="procurement", actor=ACTOR)
        merge = merge_customers(session, winner_id=main.id, loser_id=lost.id, actor=ACTOR)
        ticket = make_ticket(session, customer_id=main.id, subject=marker(side, "Ticket"))
        spare_ticket = make_ticket(session, customer_id=spare.id, subject=marker(side, "Spare"))
        org_ticket = make_ticket(session, customer_id=org.id, subject=marker(side, "OrgTicket"))
        for made in (ticket, spare_ticket, org_ticket):
            made.department_id = department[side].id
        order = make_order(
            session,
            main,
            external_id=marker(side, "Order"),
            ordered_at=datetime(2010, 4, 1, tzinfo=UTC),
        )
        log_interaction(
            session,
            customer_id=main.id,
            channel="phone",
            direction="inbound",
            occurred_at=datetime(2010, 4, 2, tzinfo=UTC),
            actor=ACTOR,
            subject=marker(side, "Call"),
        )
        task = open_task(
            session,
            customer_id=main.id,
            kind="neglect",
            title=marker(side, "Task"),
            owner_id=owner_id,
            due_at=datetime(2026, 12, 1, tzinfo=UTC),
            evidence={},
            dedupe_key=f"access:{side}",
            actor=ACTOR,
        )
        agent_task = open_task(
            session,
            customer_id=main.id,
            kind="neglect",
            title=marker(side, "AgentTask"),
            owner_id=users[f"agent_{side}"],
            due_at=datetime(2026, 12, 1, tzinfo=UTC),
            evidence={},
            dedupe_key=f"access:agent:{side}",
            actor=ACTOR,
        )
        gift = plan_surprise(
            session, customer_id=main.id, surprise_id=surprise.id, moment="birthday", actor=ACTOR
        )
        referral = record_referral(
            session,
            referrer_id=main.id,
            referred_id=org.id,
            referred_on=date(2026, 11, 1),
            actor=ACTOR,
        )
        ids[side] = {
            "customer": main.id,
            "spare": spare.id,
            "merge": merge.id,
            "ticket": ticket.id,
            "order": order.id,
            "task": task.id,
            "agent_task": agent_task.id,
            "gift": gift.id,
            "referral": referral.id,
        }
        markers.setdefault("customer", {})[side] = [marker(side, w) for w in ("Main", "Spare")]
        markers.setdefault("ticket", {})[side] = [marker(side, "Ticket")]
        markers.setdefault("order", {})[side] = [marker(side, "Order")]
        markers.setdefault("interaction", {})[side] = [marker(side, "Call")]
        markers.setdefault("task", {})[side] = [marker(side, "Task"), marker(side, "AgentTask")]
        markers.setdefault("ref", {})[side] = [
            f'"customer_id":{main.id},',
            f'"customer_id":{main.id}}}',
            f'"referrer_id":{main.id},',
        ]
        # A public post whose author is this side's customer.
        upsert_post(
            session,
            PostIn(
                platform="weibo",
                external_id=f"W-{side}",
                author_handle=f"handle_{side}",
                posted_at=datetime(2026, 11, 1, tzinfo=UTC),
                text=f"post {side}",
                customer_id=main.id,
            ),
        )
    pool = make_customer(session, name=marker("p", "Pool"), owner_id=None)
    ids["p"] = {"customer": pool.id}
    markers["customer"]["p"] = [marker("p", "Pool")]
    # The shared crisis's post is by side b's customer: the crisis detail blanks them for side a.
    crisis_post = session.get(Post, shared["post"])
    assert crisis_post is not None
    crisis_post.customer_id = ids["b"]["customer"]
    session.flush()
    return {"users": users, "tokens": tokens, "ids": ids, "shared": shared, "markers": markers}


@pytest.fixture(scope="module")
def world(engine: Engine, database_url: str) -> Iterator[World]:
    with engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            with factory() as session:
                built = _build(session)
                session.commit()
            settings = Settings(
                environment="test",
                database_url=database_url,
                secret_key="test-secret-key-0123456789abcdef",
                recs_impression_flush_ms=0,  # the app's sessions share one connection
                server_gc_freeze=False,
            )
            app = create_app(settings, factory)
            with TestClient(app, raise_server_exceptions=False) as api:
                web: dict[str, TestClient] = {}
                csrf: dict[str, str] = {}
                for name in ROLES:
                    client = TestClient(app, raise_server_exceptions=False)
                    assert sign_in(client, f"{name}@example.com").status_code == 303
                    web[name] = client
                    csrf[name] = csrf_of(client, "/service/new")
                yield World(
                    connection=connection,
                    app=app,
                    api=api,
                    web=web,
                    csrf=csrf,
                    tokens=built["tokens"],
                    users=built["users"],
                    ids=built["ids"],
                    shared=built["shared"],
                    markers=built["markers"],
                )
        finally:
            outer.rollback()


# ------------------------------------------------------------------------------ helpers

#: The tables a denied change could touch: compared in full before and after.
WATCHED = (
    "customers",
    "identities",
    "consents",
    "customer_merges",
    "orders",
    "interactions",
    "service_tickets",
    "service_ticket_messages",
    "service_ticket_events",
    "service_policy_decisions",
    "relation_tasks",
    "relation_surprise_gifts",
    "relation_referrals",
    "relation_contact_ledger",
    "recommendation_events",
    "automated_decision_opt_outs",
    "audit_log",
)


def snapshot(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    from kehu.store import Base

    tables = Base.metadata.tables
    state = {}
    for name in WATCHED:
        if name not in tables:
            continue
        table = tables[name]
        rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
        state[name] = [tuple(r) for r in rows]
    return state


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return ids[value[1:-1]]
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), value)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def request(world: World, role: str, case: Case, ids: dict[str, int]):
    path = _fill(case.path, ids)
    body = _fill(case.body, ids)
    if case.is_web:
        client = world.web[role]
        if case.method == "GET":
            return client.get(path, headers={"HX-Request": "true"}, follow_redirects=False)
        data = {k: str(v) for k, v in (body or {}).items()}
        data["csrf_token"] = world.csrf[role]
        return client.post(path, data=data, follow_redirects=False)
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    return world.api.request(case.method, path, headers=headers, json=body)


def in_savepoint(world: World):
    return world.connection.begin_nested()


def visible_sides(role: str) -> set[str]:
    if role == "admin":
        return {"a", "b", "p"}
    side = SIDE[role]
    return {side, "p"} if role.startswith("manager") else {side}


def code_of(response) -> str | None:
    try:
        return response.json().get("code")
    except ValueError:
        return None


def ids_for(world: World, role: str, side: str) -> dict[str, int]:
    return {
        **world.shared,
        **world.ids["a" if side == "p" else side],
        **({"customer": world.ids["p"]["customer"]} if side == "p" else {}),
        "me": world.users[role],
        "kind": "customers",
        "item": "facts",
        # an agent's tasks are the ones it owns
        **(
            {"task": world.ids[side]["agent_task"]}
            if role.startswith("agent") and side in ("a", "b")
            else {}
        ),
    }


# ------------------------------------------------------------------------------ the test


#: Placeholders the data set fills; an open GET naming another (an upload token...) is left out.
FILLED = {"customer", "spare", "merge", "ticket", "order", "task", "gift", "referral", "me"}
FILLED |= {"post", "alert", "crisis", "term", "poll", "option", "category", "policy"}
FILLED |= {"subscription", "delivery", "import", "kind", "item"}


def _requested(case: Case) -> bool:
    if case.kind in ("record", "list"):
        return True
    names = set(re.findall(r"\{(\w+)\}", case.path))
    return case.method == "GET" and names <= FILLED


SCOPED = [c for c in CASES if _requested(c)]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", SCOPED, ids=[f"{c.method} {c.path}" for c in SCOPED])
def test_nobody_sees_or_changes_a_record_out_of_scope(world: World, case: Case, role: str):
    own = "a" if role == "admin" else SIDE[role]
    other = {"a": "b", "b": "a"}[own]
    hidden = {s for s in ("a", "b", "p") if s not in visible_sides(role)}

    # In scope: the role's own record answers (or the route refuses the role: 403).
    savepoint = in_savepoint(world)
    try:
        response = request(world, role, case, ids_for(world, role, own))
        assert response.status_code < 500, response.text
        if case.kind == "record":
            assert not (response.status_code == 404 and code_of(response) in NOT_FOUND), (
                f"{role} cannot reach its own {case.record}: {response.text[:300]}"
            )
            if case.in_body:
                assert response.status_code != 422 or code_of(response) not in NOT_FOUND
        if case.method == "GET" and response.status_code == 200:
            body = response.text
            for kind, by_side in world.markers.items():
                for side in hidden:
                    for text_ in by_side.get(side, []):
                        assert text_ not in body, f"{role} sees {kind} {text_!r} of side {side}"
            if case.kind == "list" and _lists_for_role(case, role):
                kind = LIST_MARKERS.get(case.lists, case.lists)
                if case.is_web and kind == "ref":
                    kind = "customer"
                wanted = world.markers[kind][own]
                assert any(t in body for t in wanted), f"{role} misses its own {case.lists}"
    finally:
        savepoint.rollback()

    if case.kind != "record" or role == "admin":
        return
    # Out of scope: the other side's record is absent, and a denied change changed nothing.
    savepoint = in_savepoint(world)
    try:
        before = snapshot(world.connection)
        response = request(world, role, case, ids_for(world, role, other))
        if case.in_body and case.is_web:
            assert response.status_code in (303, 403), response.text[:300]
        elif case.in_body:
            assert response.status_code in (403, 422), response.text[:300]
            if response.status_code == 422:
                assert code_of(response) in NOT_FOUND
        else:
            assert response.status_code in (403, 404), response.text[:300]
            if response.status_code == 404 and not case.is_web:
                assert code_of(response) in NOT_FOUND
        assert snapshot(world.connection) == before
    finally:
        savepoint.rollback()


LIST_MARKERS = {"gift": "ref", "referral": "ref", "post": "ref", "alert": "ref"}


def _lists_for_role(case: Case, role: str) -> bool:
    """Return whether ``case`` should show ``role`` a record of its own (some lists are empty)."""
    if case.lists in ("post", "alert"):
        return False  # public: nothing to find of one's own
    if case.lists == "customer" and case.path.endswith(("/value/customers", "/value", "/health")):
        return False  # nobody is scored in this data set
    if case.lists == "customer" and case.path.endswith("/health/customers"):
        return False
    if case.path.endswith("/me/customers"):
        return role.startswith("owner")
    if case.path.endswith(("/reports/contradictions", "/reports/sla", "/service/dashboard")):
        return False  # no outcomes nor SLA clocks here
    if case.path.endswith("/referrals/value"):
        return True
    # The console queue opens on the user's department, which owners' tickets are not in.
    return not (case.lists == "ticket" and case.path == "/service" and role.startswith("owner"))
