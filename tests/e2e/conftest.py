"""A live console (uvicorn in a thread, temp SQLite) and headless Chromium to drive it."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session

from kehu.app import create_app
from kehu.commerce import LineInput, create_order
from kehu.core import Actor, Settings
from kehu.customers import add_contact, create_customer, record_consent
from kehu.engagement import log_interaction
from kehu.store import make_engine, make_session_factory, upgrade_to_head
from kehu.users import create_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


def _seed(url: str) -> None:
    actor = Actor.system("e2e-seed")
    factory = make_session_factory(make_engine(url))
    with factory() as db:
        for role in ("admin", "manager", "agent"):
            create_user(
                db,
                email=f"{role}@example.com",
                name={"admin": "Chen Jing", "manager": "Maria Lopez", "agent": "Sam Hill"}[role],
                password=PASSWORD,
                role=role,
                actor=actor,
            )
        li = create_customer(
            db,
            actor=actor,
            identities=[("email", "li.wei@example.com"), ("wechat_openid", "oLiWei88")],
            name="Li Wei 李伟",
            phone="+8613812345678",
            country="China",
            city="上海",
            external_id="C1001",
        )
        for month, (quantity, price) in enumerate(
            [(2, "18.00"), (1, "42.50"), (4, "9.99"), (3, "18.00"), (6, "12.00"), (2, "60.00")],
            start=1,
        ):
            for n in range(1 + month % 3):
                create_order(
                    db,
                    actor=actor,
                    external_id=f"SO-2024{month:02d}-{n}",
                    customer_id=li.id,
                    ordered_at=datetime(2024, month, 3 + 7 * n, 10, 30, tzinfo=UTC),
                    lines=[
                        LineInput(
                            sku=f"TEA-{month}",
                            quantity=quantity,
                            unit_price=Decimal(price),
                            name=f"Oolong tea no. {month}",
                        )
                    ],
                )
        record_consent(db, li, channel="email", purpose="marketing", status="granted", actor=actor)
        record_consent(db, li, channel="sms", purpose="marketing", status="withdrawn", actor=actor)
        log_interaction(
            db,
            customer_id=li.id,
            channel="wechat",
            direction="inbound",
            occurred_at=datetime(2024, 6, 4, 9, 0, tzinfo=UTC),
            subject="Asked about the autumn harvest",
            actor=actor,
        )
        acme = create_customer(
            db, actor=actor, name="ACME Trading Ltd", kind="organisation", country="United Kingdom"
        )
        for name, role in (("Alice Brown", "procurement"), ("Bob Green", "decision_maker")):
            person = create_customer(
                db,
                actor=actor,
                identities=[("email", f"{name.split()[0].lower()}@acme.example")],
                name=name,
                country="United Kingdom",
            )
            add_contact(db, account=acme, person=person, role=role, actor=actor)
        for n in range(30):
            create_customer(
                db,
                actor=actor,
                identities=[("email", f"shopper{n}@example.com")],
                name=f"Shopper {n:02d}",
                country="United Kingdom" if n % 2 else "China",
            )
        db.commit()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_console(url: str, secret_key: str) -> Iterator[str]:
    """Run the console over the database at ``url`` on a free loopback port; yield its URL."""
    settings = Settings(environment="test", database_url=url, secret_key=secret_key)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the console did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def browser_page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh browser context (no cookies) on ``base_url`` and one page in it."""
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1366, "height": 900}, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


def add_user(
    db: Session,
    actor: Actor,
    *,
    role: str = "admin",
    email: str = "admin@example.com",
    name: str = "Chen Jing",
    department_code: str | None = None,
) -> None:
    """Create a console user with the e2e password."""
    create_user(
        db,
        email=email,
        name=name,
        password=PASSWORD,
        role=role,
        actor=actor,
        department_code=department_code,
    )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the console on a free loopback port over a seeded SQLite file."""
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'kehu-e2e.db'}"
    upgrade_to_head(url)
    _seed(url)
    with serve_console(url, "e2e-" + "k" * 40) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium (never a downloaded one)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test."""
    with browser_page(browser, live_server) as page:
        yield page


@pytest.fixture
def shot(page: Page):
    """Save a full-page screenshot to test-artifacts/e2e/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take


def log_in(page: Page, email: str = "admin@example.com") -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url("**/")
