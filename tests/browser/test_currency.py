"""Issue 11, item 2, in Chromium: a distributor in euros with a German locale sees its currency on the
three main pages (dashboard, my customers, the customer page), its date format, and charts whose axis
speaks euros."""

import re

import pytest
from django_scopes import scopes_disabled

from tests.browser.test_role_walks import open_as, seed
from tests.conftest import make_tenant

pytestmark = [pytest.mark.browser]
EURO = re.compile(r"\d{1,3}(?:\.\d{3})*(?:,\d+)?\xa0€")
EN_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d])")


@pytest.fixture
def euro_world(transactional_db):
    tenant = make_tenant("alpha")
    with scopes_disabled():
        tenant.distributor.currency, tenant.distributor.locale = "EUR", "de_DE"
        tenant.distributor.save()
    seed(tenant)
    return tenant


def test_the_three_main_pages_show_euros_and_the_german_date(euro_world, live_server, page):
    open_as(page, live_server, "alpha-manager")
    page.wait_for_selector("#quadrant-chart[data-ready='1']")
    summary = page.locator("#segment-summary").inner_text()
    assert len(EURO.findall(summary)) >= 8 and "$" not in summary and not EN_GROUPED.search(summary)
    assert re.search(r"\d{2}\.\d{2}\.\d{4}", page.locator("#run-date").inner_text())

    page.goto(f"{live_server.url}/alpha/customers/")
    table = page.locator("#my-customers-table").inner_text()
    assert len(EURO.findall(table)) >= 2 and "$" not in table and not EN_GROUPED.search(table)

    page.click("#my-customers-table tbody tr:first-child a")
    page.wait_for_selector("#trend-chart[data-ready='1']")
    body = page.locator("main").inner_text()
    assert EURO.search(body) and "$" not in body
    tick = page.evaluate("() => Chart.getChart('trend-chart').options.scales.y.ticks.callback(12345)")
    assert tick == "12.345\xa0€"
