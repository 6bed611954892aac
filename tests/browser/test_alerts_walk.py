"""Issue 15 in a real browser (Playwright + the system Chromium): a rep opens the worklist from the
navigation, opens a customer from an alert and marks the alert done there; a manager filters the
alerts list by kind and exports it."""

from pathlib import Path

import pytest
from django_scopes import scopes_disabled

from alerts.models import Alert
from tests.alerts.conftest import make_alerts
from tests.browser.test_role_walks import open_as
from tests.conftest import make_tenant

pytestmark = [pytest.mark.browser]


@pytest.fixture
def world(transactional_db):
    tenant = make_tenant("alpha")
    return tenant, make_alerts(tenant)


def test_rep_works_an_alert_from_the_worklist(world, live_server, page):
    tenant, alerts = world
    open_as(page, live_server, "alpha-rep")
    assert page.locator("#nav-alert-count").inner_text() == "2"
    page.click("#nav-alerts")
    page.wait_for_selector(".worklist-customer")
    assert page.locator(".worklist-alert").count() == 2
    assert page.locator(".worklist-alert").first.get_attribute("data-kind") == "overdue"  # biggest first
    assert tenant.unassigned_customer.customer_id not in page.content()
    page.click(".worklist-customer .customer-link")
    page.wait_for_selector("#customer-alerts")
    assert tenant.assigned_customer.customer_id in page.url
    overdue = page.locator(f".customer-alert[data-alert='{alerts['mine'].pk}']")
    overdue.locator("[data-action=done]").click()
    page.wait_for_selector("text=Alert marked done.")
    assert page.locator(f".customer-alert[data-alert='{alerts['mine'].pk}'] .alert-status").inner_text() == "done"
    with scopes_disabled():
        assert Alert.objects.get(pk=alerts["mine"].pk).status == "done"
    assert page.locator("#nav-alert-count").inner_text() == "1"
    # A dismissal with only spaces for its note stays on the page (the browser asks for words; the
    # server's 400 page was where it landed).
    page.click("#nav-alerts")
    page.wait_for_selector(".worklist-alert")
    form = page.locator("form:has([data-action=dismiss])").first
    form.locator("input[name=note]").fill("   ")
    before = page.url
    form.locator("[data-action=dismiss]").click()
    page.wait_for_timeout(300)
    assert page.url == before and "/status/" not in page.url
    assert not form.locator("input[name=note]").evaluate("e => e.checkValidity()")


def test_manager_filters_by_kind_and_exports(world, live_server, page):
    open_as(page, live_server, "alpha-manager")
    page.goto(f"{live_server.url}/alpha/alerts/")
    assert page.locator("#alerts-table tbody tr").count() == 4
    page.select_option("#id_kind", "slipping")
    page.click("#alert-filter button[type=submit]")
    page.wait_for_url("**kind=slipping**")
    assert page.locator("#alerts-table tbody tr").count() == 1
    with page.expect_download() as info:
        page.click("#export-csv")
    content = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = [line for line in content.splitlines() if line]
    assert len(rows) == 2 and rows[1].startswith("Slipping,")  # the kind as the page names it
