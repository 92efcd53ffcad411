"""Upload a GBK file with Chinese headers, map its columns, preview, then import for real."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

ZH_ORDERS = Path(__file__).resolve().parents[1] / "data" / "orders_zh_gbk.csv"
# customer_id stays unmapped: the orders load as guest orders, so the shared e2e store keeps
# the customer count the other flows check.
MAPPING = {
    "order_id": "订单号",
    "ordered_at": "下单时间",
    "sku": "商品编码",
    "description": "商品名称",
    "quantity": "数量",
    "unit_price": "单价",
}


def test_upload_map_preview_and_apply(page, shot):
    log_in(page, "manager@example.com")
    page.goto("/imports")
    page.select_option("select[name=kind]", "orders")
    page.set_input_files("input[name=file]", str(ZH_ORDERS))
    page.get_by_test_id("map-columns").click()

    expect(page).to_have_url(re.compile(r"/imports/uploads/[0-9a-f]{32}$"))
    expect(page.get_by_test_id("mapping-table").locator("tbody tr")).to_have_count(12)
    expect(page.get_by_test_id("ignored-columns")).to_contain_text("备注")
    # The common Chinese headers come pre-selected; customer_id is unset here on purpose.
    for field, column in MAPPING.items():
        expect(page.locator(f"select[name=map-{field}]")).to_have_value(column)
    page.select_option("select[name=map-customer_id]", "")
    ignored = page.get_by_test_id("ignored-columns").locator("li")
    expect(ignored).to_have_text(["客户编号", "备注"])
    shot("11-import-map-columns")

    page.fill("input[name=save_name]", "门店订单 GBK")
    page.get_by_test_id("save-mapping").click()
    expect(page.get_by_role("status")).to_contain_text("Mapping 门店订单 GBK saved.")
    expect(page.locator("select[name=map-order_id]")).to_have_value("订单号")
    expect(page.locator("select[name=map-customer_id]")).to_have_value("")
    expect(ignored).to_have_text(["客户编号", "备注"])

    page.get_by_test_id("preview").click()
    expect(page).to_have_url(re.compile(r"/imports/uploads/[0-9a-f]{32}/preview$"))
    expect(page.get_by_test_id("n-rows")).to_have_text("7")
    expect(page.get_by_test_id("n-loaded")).to_have_text("5")
    expect(page.get_by_test_id("n-errors")).to_have_text("2")
    rows = page.get_by_test_id("preview-rows").locator("tbody tr")
    expect(rows).to_have_count(7)
    expect(rows.nth(0).locator("td")).to_have_text(
        [
            "2",
            "SO-1001",
            "2024-03-01 01:30:00 UTC",
            "TEA-01",
            "西湖龙井",
            "2",
            "88.00",
            "sale",
            "OK",
        ]
    )
    expect(rows.nth(3)).to_contain_text("return")
    expect(rows.nth(5)).to_contain_text("Not loaded")
    expect(rows.nth(5)).to_contain_text("'三' is not a whole number")
    shot("12-import-preview")

    page.get_by_test_id("apply").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    expect(page.get_by_test_id("n-loaded")).to_have_text("5")
    expect(page.get_by_test_id("n-errors")).to_have_text("2")
    shot("13-import-applied")

    page.goto("/imports")
    saved = page.get_by_test_id("saved-mappings")
    expect(saved).to_contain_text("门店订单 GBK")
    expect(saved).to_contain_text("订单号 → order_id")
    shot("14-import-saved-mappings")
