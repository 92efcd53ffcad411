"""A person's rights from the customer 360 in headless Chromium: export, opt-out, erase."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from kehu.commerce import LineInput, create_order
from kehu.core import Actor
from kehu.customers import create_customer
from kehu.store import make_engine, make_session_factory, upgrade_to_head
from tests.e2e.conftest import ARTIFACTS, add_user, browser_page, log_in, serve_console

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def privacy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A console of its own (the flow erases its customer) with one customer who bought tea."""
    url = f"sqlite:///{tmp_path_factory.mktemp('privacy') / 'kehu-privacy.db'}"
    upgrade_to_head(url)
    actor = Actor.system("e2e-seed")
    factory = make_session_factory(make_engine(url))
    with factory() as db:
        add_user(db, actor)
        zhao = create_customer(
            db,
            actor=actor,
            identities=[("email", "zhao.min@example.com")],
            name="Zhao Min 赵敏",
            phone="+8613900001111",
            city="杭州",
        )
        create_order(
            db,
            actor=actor,
            external_id="SO-PRIV-1",
            customer_id=zhao.id,
            ordered_at=datetime(2024, 5, 2, 10, 0, tzinfo=UTC),
            lines=[LineInput(sku="TEA-1", quantity=2, unit_price=Decimal("18.00"), name="Tea")],
        )
        db.commit()
        customer_id = zhao.id
    with serve_console(url, "e2e-" + "p" * 40) as base_url:
        yield base_url, customer_id


@pytest.fixture
def privacy_page(browser: Browser, privacy_server: tuple[str, int]) -> Iterator[Page]:
    with browser_page(browser, privacy_server[0]) as page:
        yield page


def test_export_opt_out_and_erase_from_the_360(privacy_page: Page, privacy_server) -> None:
    page, customer_id = privacy_page, privacy_server[1]
    log_in(page, "admin@example.com")
    page.goto(f"/customers/{customer_id}")
    card = page.get_by_test_id("privacy-card")
    expect(card.get_by_test_id("automated-allowed")).to_be_visible()

    with page.expect_download() as download_info:
        card.get_by_test_id("export-data").click()
    download = download_info.value
    assert download.suggested_filename == f"customer-{customer_id}-data.json"
    document = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert document["format"] == "kehu.personal-data/1"
    assert document["customer"]["name"] == "Zhao Min 赵敏"
    assert len(document["records"]["orders"]) == 1

    card.get_by_test_id("toggle-automated").click()
    expect(page.get_by_test_id("automated-opted-out")).to_contain_text(
        "Opted out of automated decisions"
    )
    expect(page.get_by_test_id("value-opted-out")).to_be_visible()
    expect(page.get_by_test_id("toggle-automated")).to_have_text(
        "Opt back into automated decisions"
    )

    page.get_by_test_id("erase-data").click()
    confirmation = page.get_by_test_id("erase-confirmation")
    expect(confirmation).to_contain_text("Orders, order lines and tickets")
    expect(confirmation).to_contain_text("cannot be undone")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "privacy-erase-confirmation.png"), full_page=True)
    page.get_by_test_id("confirm-erase").click()

    page.wait_for_url(f"**/customers/{customer_id}")
    expect(page.get_by_test_id("customer-name")).to_contain_text("(erased)")
    expect(page.locator("body")).not_to_contain_text("zhao.min@example.com")
    expect(page.locator("body")).to_contain_text(
        f"The personal data of customer {customer_id} were erased."
    )
