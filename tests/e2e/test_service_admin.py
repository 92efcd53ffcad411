"""Keeping the service desk in headless Chromium: SLA policies, the category tree (CSV import,
all or nothing), a category's policy and answer, and an open ticket's clock following a policy
edit."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from kehu.core import Actor
from kehu.service import create_ticket
from kehu.store import make_engine, make_session_factory, upgrade_to_head
from kehu.users import create_department
from tests.e2e.conftest import ARTIFACTS, add_user, browser_page, log_in, serve_console

pytestmark = pytest.mark.e2e

CATEGORIES_CSV = Path(__file__).resolve().parents[1] / "data" / "service" / "categories.csv"
OPENED = datetime(2026, 11, 23, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def desk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A console over an empty desk: four departments, a service manager, no policies."""
    url = f"sqlite:///{tmp_path_factory.mktemp('desk') / 'kehu-desk.db'}"
    upgrade_to_head(url)
    actor = Actor.system("e2e-seed")
    with make_session_factory(make_engine(url))() as db:
        for code in ("service", "billing", "logistics", "sales"):
            create_department(db, code=code, name=code.title(), actor=actor)
        # The service manager: the tickets of the "cards" branch are routed to their department.
        add_user(
            db,
            actor,
            role="manager",
            email="manager@example.com",
            name="Maria Lopez",
            department_code="service",
        )
        db.commit()
    with serve_console(url, "e2e-" + "d" * 40) as base_url:
        yield base_url, url


@pytest.fixture
def desk_page(browser: Browser, desk_server: tuple[str, str]) -> Iterator[Page]:
    with browser_page(browser, desk_server[0]) as page:
        yield page


def _save_policy(page: Page, code: str, targets: str) -> None:
    page.goto("/service/sla-policies")
    form = page.get_by_test_id("sla-policy-form")
    form.get_by_test_id("policy-code").fill(code)
    form.get_by_test_id("policy-hours").fill("")  # around the clock
    form.get_by_test_id("policy-targets").fill(targets)
    form.get_by_test_id("save-policy").click()


def _open_ticket(url: str, category_code: str) -> int:
    with make_session_factory(make_engine(url))() as db:
        ticket = create_ticket(
            db,
            body="My card has still not arrived.",
            channel="api",
            category_code=category_code,
            opened_at=OPENED,
            actor=Actor.system("e2e"),
        )
        db.commit()
        return ticket.id


def test_a_manager_keeps_policies_and_the_tree(
    desk_page: Page, desk_server: tuple[str, str], tmp_path: Path
) -> None:
    page = desk_page
    log_in(page, "manager@example.com")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # SLA policies: two good ones, then a bad one that comes back with the reason and the text.
    _save_policy(page, "standard", "default 240 2880\nvip 60 480")
    expect(page.get_by_role("status")).to_contain_text("SLA policy standard was saved.")
    _save_policy(page, "urgent", "default 30 240")
    rows = page.get_by_test_id("sla-policies").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("tr[data-policy-code=standard]")).to_contain_text("vip: 60 / 480")
    _save_policy(page, "broken", "vip 60")
    expect(page.get_by_role("status")).to_contain_text("Targets line 1 ('vip 60')")
    expect(page.get_by_test_id("policy-targets")).to_have_value("vip 60")
    expect(rows).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / "service-admin-01-policies.png"), full_page=True)

    # The tree: a CSV with one bad row changes nothing and names the row; the real one loads.
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,parent_code\nfees,Fees,\ncard_fees,Card fees,nowhere\n")
    page.goto("/service/categories")
    page.get_by_test_id("category-csv").set_input_files(str(bad))
    page.get_by_test_id("import-categories").click()
    report = page.get_by_test_id("category-import-report")
    expect(report).to_have_attribute("data-applied", "false")
    expect(page.get_by_test_id("category-import-errors")).to_contain_text(
        "Parent 'nowhere' of 'card_fees' does not exist."
    )
    page.goto("/service/categories")
    expect(page.get_by_text("No categories yet")).to_be_visible()

    page.get_by_test_id("category-csv").set_input_files(str(CATEGORIES_CSV))
    page.get_by_test_id("import-categories").click()
    expect(page.get_by_test_id("category-import-report")).to_have_attribute("data-applied", "true")
    page.goto("/service/categories")
    n_rows = len(CATEGORIES_CSV.read_text(encoding="utf-8").splitlines()) - 1
    expect(page.get_by_test_id("category-tree").locator("tbody tr")).to_have_count(n_rows)
    expect(page.locator("tr[data-category-code=card_security]")).to_contain_text("urgent")
    page.screenshot(path=str(ARTIFACTS / "service-admin-02-tree.png"), full_page=True)

    # A leaf: its own policy and a canonical answer (versioned).
    page.locator("tr[data-category-code=card_arrival] a").click()
    page.get_by_test_id("category-policy").select_option("urgent")
    page.get_by_test_id("category-edit").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("The category was saved.")
    expect(page.get_by_test_id("category-policy")).to_have_value("urgent")
    page.get_by_test_id("answer-body").fill("New cards arrive within 5 working days.")
    page.get_by_test_id("save-answer").click()
    expect(page.get_by_test_id("answer-versions")).to_contain_text("New cards arrive")
    page.get_by_test_id("category-policy").select_option("")
    page.get_by_test_id("category-edit").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("The category was saved.")

    # An open ticket's clock follows the policy it runs on (inherited from "cards").
    ticket_id = _open_ticket(desk_server[1], "card_arrival")
    page.goto(f"/service/tickets/{ticket_id}")
    expect(page.get_by_test_id("sla-clocks")).to_contain_text("Due 2026-11-23 13:00")
    page.goto("/service/sla-policies")
    page.locator("tr[data-policy-code=standard] a").click()
    page.get_by_test_id("policy-targets").fill("default 120 2880")
    page.get_by_test_id("save-policy").click()
    expect(page.get_by_role("status")).to_contain_text("SLA policy standard was saved.")
    page.goto(f"/service/tickets/{ticket_id}")
    expect(page.get_by_test_id("sla-clocks")).to_contain_text("Due 2026-11-23 11:00")
    page.screenshot(path=str(ARTIFACTS / "service-admin-03-ticket-clock.png"), full_page=True)
