"""The relationship-health page and a customer's health card, in headless Chromium, on real data."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from kehu.core import Actor
from kehu.health import CustomerHealth
from kehu.ingest import run_import
from kehu.jobs.health import run_health_analysis
from kehu.store import make_engine, make_session_factory, upgrade_to_head
from tests.e2e.conftest import ARTIFACTS, add_user, browser_page, log_in, serve_console

pytestmark = pytest.mark.e2e

SLICE = (
    Path(__file__).resolve().parents[1] / "data" / "health" / "online_retail_ii_health_slice.csv"
)


@pytest.fixture(scope="module")
def health_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A console over a SQLite file holding 60 real customers and one health analysis."""
    url = f"sqlite:///{tmp_path_factory.mktemp('health') / 'kehu-health.db'}"
    upgrade_to_head(url)
    actor = Actor.system("e2e-seed")
    factory = make_session_factory(make_engine(url))
    with factory() as db:
        add_user(db, actor)
        run_import(db, kind="orders", data=SLICE.read_bytes(), filename="slice.csv", actor=actor)
        run = run_health_analysis(db, actor=actor)
        assert run.status == "succeeded", run.message
        lapsed = db.query(CustomerHealth).filter(CustomerHealth.stage == "lapsed").first()
        assert lapsed is not None
        facts = {
            "n_lapsed": str(run.metrics["stages"]["lapsed"]),
            "lapsed_id": str(lapsed.customer_id),
        }
        db.commit()
    with serve_console(url, "e2e-" + "h" * 40) as base_url:
        yield base_url, facts


@pytest.fixture
def health_page(browser: Browser, health_server: tuple[str, dict[str, str]]) -> Iterator[Page]:
    with browser_page(browser, health_server[0]) as page:
        yield page


def test_health_page_cohort_chart_and_a_customers_card(health_page: Page, health_server) -> None:
    page, facts = health_page, health_server[1]
    log_in(page)

    page.get_by_role("link", name="Relationship health", exact=True).click()
    expect(page.get_by_test_id("stage-lapsed-count")).to_have_text(facts["n_lapsed"])
    canvas = page.locator("#cohort-chart canvas").first
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    assert box is not None
    assert box["width"] > 200
    # No value analysis ran here: the +5 % card says why instead of a figure.
    expect(page.get_by_test_id("retention-value")).to_contain_text("value analysis")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "health-01-page.png"), full_page=True)

    page.get_by_test_id("filter-stage").select_option("lapsed")
    expect(page.get_by_test_id("health-row")).to_have_count(int(facts["n_lapsed"]))

    page.goto(f"/customers/{facts['lapsed_id']}")
    card = page.get_by_test_id("health-card")
    expect(card).to_be_visible()
    expect(card.get_by_test_id("stage-badge")).to_have_text("Lapsed")
    expect(card.get_by_test_id("health-reasons")).to_contain_text("no purchase for")
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "health-02-360.png"), full_page=True)
