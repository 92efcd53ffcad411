"""The value dashboard and a VIP's value card, in headless Chromium, over scored data."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from kehu.core import Actor
from kehu.jobs.value import run_value_analysis
from kehu.store import make_engine, make_session_factory, upgrade_to_head
from kehu.value import list_valued_customers
from tests.e2e.conftest import ARTIFACTS, add_user, browser_page, log_in, serve_console
from tests.integration.web.test_value_pages import seed_value_data

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def value_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A console over a SQLite file with seeded orders, an owner and one value analysis."""
    url = f"sqlite:///{tmp_path_factory.mktemp('value') / 'kehu-value.db'}"
    upgrade_to_head(url)
    actor = Actor.system("e2e-seed")
    factory = make_session_factory(make_engine(url))
    with factory() as db:
        add_user(db, actor)
        add_user(db, actor, role="owner", email="owner@example.com", name="Wang Fang 王芳")
        seed_value_data(db)
        run = run_value_analysis(db, actor=actor)
        assert run.status == "succeeded", run.message
        top, _ = list_valued_customers(db, sort="clv", limit=1)
        facts = {
            "vip_id": str(top[0].customer_id),
            "vip_name": top[0].name,
            "clv": f"{top[0].clv:,.2f}",
        }
        db.commit()
    with serve_console(url, "e2e-" + "v" * 40) as base_url:
        yield base_url, facts


@pytest.fixture
def value_page(browser: Browser, value_server: tuple[str, dict[str, str]]) -> Iterator[Page]:
    with browser_page(browser, value_server[0]) as page:
        yield page


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_value_dashboard_charts_and_a_vips_card(value_page: Page, value_server) -> None:
    page, facts = value_page, value_server[1]
    log_in(page, "admin@example.com")

    page.get_by_role("link", name="Value", exact=True).click()
    expect(page.get_by_test_id("tier-vip-count")).to_have_text("14")
    for chart in ("pareto-chart", "clv-histogram", "calibration-chart"):
        expect(page.locator(f"#{chart} canvas").first).to_be_visible()
        box = page.locator(f"#{chart} canvas").first.bounding_box()
        assert box is not None
        assert box["width"] > 200
        assert box["height"] > 200
    expect(page.get_by_test_id("pareto-sentence")).to_contain_text("The top 20 % of customers")
    _shot(page, "value-01-dashboard")

    page.get_by_test_id("filter-tier").select_option("vip")
    expect(page.get_by_test_id("value-row")).to_have_count(14)
    expect(page).to_have_url(re.compile(r"/value\?tier=vip"))

    page.get_by_role("link", name=facts["vip_name"], exact=True).first.click()
    expect(page.get_by_test_id("value-card")).to_be_visible()
    expect(page.get_by_test_id("value-clv")).to_contain_text(facts["clv"])
    expect(page.get_by_test_id("value-card").get_by_test_id("tier-badge")).to_have_text("VIP")
    expect(page.get_by_test_id("value-owner")).to_have_text("Wang Fang 王芳")
    page.get_by_test_id("value-card").scroll_into_view_if_needed()
    _shot(page, "value-02-vip-360")


def test_owner_sees_my_customers_in_chinese(value_page: Page) -> None:
    page = value_page
    log_in(page, "owner@example.com")

    page.goto("/me/customers")
    page.locator(".lang-switch button[value='zh-CN']").click()
    expect(page.locator("h1")).to_contain_text("我的客户")
    expect(page.get_by_test_id("n-owned")).to_have_text("14")
    expect(page.get_by_test_id("owner-row")).to_have_count(14)
    _shot(page, "value-03-my-customers-zh")

    page.goto("/value")
    expect(page.locator("h1")).to_contain_text("客户价值")
    expect(page.locator("#pareto-chart canvas").first).to_be_visible()
    _shot(page, "value-04-dashboard-zh")
