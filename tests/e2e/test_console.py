"""The service manager's flows through the console, in headless Chromium."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

BAD_CSV = (
    "external_id,name,email,phone,birthday\n"
    "E2E-1,Zhou Min 周敏,zhou.min@example.com,+86 139 0000 1111,1988-02-03\n"
    "E2E-2,No Mail,not-an-email,,1990-01-01\n"
    "E2E-3,Bad Birthday,bad.day@example.com,,1990-02-31\n"
    "E2E-4,Ok Person,ok.person@example.com,,\n"
)


def test_log_in_and_out(page, shot):
    page.goto("/customers")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fcustomers"))
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", "wrong password!")
    page.click("button[type=submit]:has-text('Sign in')")
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong e-mail or password.")
    shot("01-login-error")

    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]:has-text('Sign in')")
    expect(page).to_have_url(re.compile(r"/customers$"))
    page.goto("/")
    expect(page.get_by_test_id("n-customers")).to_have_text("34")
    shot("02-dashboard")

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_search_a_customer_and_open_the_360(page, shot):
    log_in(page)
    page.goto("/customers")
    expect(page.get_by_test_id("customer-table").locator("tbody tr")).to_have_count(25)
    page.get_by_test_id("customer-search").press_sequentially("li wei", delay=20)
    rows = page.get_by_test_id("customer-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=li(\+|%20)wei"))
    shot("03-customer-search")

    rows.first.get_by_role("link").first.click()
    expect(page.get_by_test_id("customer-name")).to_contain_text("Li Wei 李伟")
    expect(page.get_by_test_id("stat-orders")).to_have_text("12")
    expect(page.locator("#orders-chart canvas").first).to_be_visible()
    expect(page.get_by_test_id("consents")).to_contain_text("email · marketing")
    expect(page.get_by_test_id("interactions")).to_contain_text("autumn harvest")
    shot("04-customer-360")

    page.goto("/customers?q=acme")
    page.get_by_role("link", name="ACME Trading Ltd").click()
    expect(page.get_by_test_id("contacts")).to_contain_text("Alice Brown")
    expect(page.get_by_test_id("contacts")).to_contain_text("Decision maker")
    shot("05-organisation-360")


def test_import_a_csv_with_bad_rows(page, shot, tmp_path):
    log_in(page, "manager@example.com")
    page.goto("/imports")
    path = tmp_path / "customers.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    page.select_option("select[name=kind]", "customers")
    page.set_input_files("input[name=file]", str(path))
    shot("06-import-form")
    page.click("button[type=submit]:has-text('Import')")

    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    expect(page.get_by_test_id("n-rows")).to_have_text("4")
    expect(page.get_by_test_id("n-loaded")).to_have_text("2")
    expect(page.get_by_test_id("n-errors")).to_have_text("2")
    errors = page.get_by_test_id("row-errors").locator("tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("not-an-email")
    expect(errors.nth(1)).to_contain_text("1990-02-31")
    with page.expect_download() as download:
        page.get_by_test_id("errors-csv").click()
    assert "not-an-email" in download.value.path().read_text(encoding="utf-8")
    shot("07-import-report")


def test_switch_language_to_chinese(page, shot):
    # A manager: Li Wei has no owner, so he is in a manager's pool (an agent sees only the
    # customers of its department's tickets, docs/access.md).
    log_in(page, "manager@example.com")
    page.goto("/customers")
    page.get_by_role("button", name="中文").click()
    expect(page.locator("h1")).to_have_text("客户")
    expect(page.locator("nav.nav")).to_contain_text("首页")
    expect(page.get_by_test_id("logout")).to_have_text("退出登录")
    page.goto("/customers?q=Li%20Wei")
    page.get_by_role("link", name=re.compile("Li Wei")).click()
    expect(page.get_by_text("当前有效的授权")).to_be_visible()
    expect(page.locator("#orders-chart canvas").first).to_be_visible()
    shot("08-customer-360-zh")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_text("Consent in force")).to_be_visible()


def test_sort_by_revenue_and_page_through_orders(page, shot):
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    log_in(page)
    page.goto("/customers")
    page.get_by_test_id("sort-revenue").click()
    expect(page).to_have_url(re.compile(r"sort=revenue"))
    first = page.get_by_test_id("customer-row").first
    expect(first.get_by_test_id("customer-label")).to_have_text("Li Wei 李伟")
    expect(first.get_by_test_id("customer-orders")).to_have_text("12")
    # 2 x 36.00 + 3 x 42.50 + 39.96 + 2 x 54.00 + 3 x 72.00 + 120.00
    expect(first.get_by_test_id("customer-revenue")).to_have_text("683.46 GBP")
    expect(first.get_by_test_id("customer-last-order")).to_have_text("2024-06-03")
    # typing a search keeps the sort
    page.get_by_test_id("customer-search").press_sequentially("shopper 0", delay=20)
    expect(page).to_have_url(re.compile(r"sort=revenue.*q=shopper|q=shopper.*sort=revenue"))
    expect(page.get_by_test_id("customer-row")).to_have_count(10)
    shot("09-customers-sorted")

    page.goto("/customers?sort=revenue")
    page.get_by_test_id("customer-row").first.get_by_role("link").click()
    orders = page.get_by_test_id("order-row")
    expect(orders).to_have_count(10)
    lines = orders.first.get_by_test_id("order-lines")
    expect(lines.locator("table")).to_be_hidden()
    lines.locator("summary").click()
    expect(lines.locator("table")).to_contain_text("Oolong tea no. 6")
    page.get_by_test_id("orders-panel-older").click()
    expect(orders).to_have_count(2)
    expect(page.get_by_test_id("orders-panel")).to_contain_text("11\u201312 of 12")
    shot("10-customer-360-older-orders")
    assert failed == []
