"""Keeping in touch in headless Chromium: log a gift on the 360 and see it on the panel."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e


def test_log_a_touch_on_the_360_and_open_the_tasks_page(page, shot):
    log_in(page)
    page.goto("/customers?q=Shopper%2007")
    page.get_by_role("link", name=re.compile("Shopper 07")).click()
    panel = page.get_by_test_id("lately-panel")
    expect(panel.get_by_test_id("no-touches")).to_be_visible()

    panel.get_by_test_id("touch-kind").select_option("gift")
    panel.get_by_test_id("touch-subject").fill("Sent a handwritten card")
    panel.get_by_test_id("touch-log").click()

    touches = page.get_by_test_id("lately-panel").get_by_test_id("touches")
    expect(touches).to_contain_text("Gift")
    expect(touches).to_contain_text("Sent a handwritten card")
    shot("relations-01-lately-panel")
    page.get_by_role("link", name="Keeping in touch").click()
    expect(page.get_by_test_id("task-dashboard")).to_be_visible()
    expect(page.get_by_test_id("relations-tabs")).to_contain_text("Surprises")
    shot("relations-02-tasks")
