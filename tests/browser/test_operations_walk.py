"""Issue 17: a purchasing manager's supplier-cut scenario in a real browser (Playwright + the system
Chromium): open Operations → Supplier, brand or product cut, choose a supplier, read the core customers
and money at risk (checked against a naive sum over the lines), save it as a scenario, save a brand cut,
compare the two, and export the customers at risk."""

from decimal import Decimal
from pathlib import Path

import pytest
from django_scopes import scopes_disabled

from operations.models import CutScenario
from operations.selectors import CutChoice
from tests.browser.test_role_walks import open_as, shot
from tests.conftest import make_tenant
from tests.operations.conftest import build
from tests.operations.test_figures import naive_cut

pytestmark = [pytest.mark.browser]


@pytest.fixture
def world(transactional_db):
    return build(make_tenant("alpha"))


def test_supplier_cut_scenario(world, live_server, page):
    open_as(page, live_server, "alpha-manager")
    page.click("#nav-operations")
    page.click("text=Supplier, brand or product cut")
    assert "For purchasing" in page.locator("#page-purpose").inner_text()
    page.select_option("#id_supplier", ["S1"])
    page.click("#cut-show")
    page.wait_for_selector("#cut-summary")
    expected = naive_cut(world, CutChoice(supplier=["S1"]))
    core = {pk: v for pk, v in expected.items() if world.segment[pk] == "core"}
    assert page.locator("#cut-core-count").inner_text() == str(len(core))
    revenue = sum((v["revenue"] for v in core.values()), Decimal(0)).quantize(Decimal("0.01"))
    assert page.locator("#cut-revenue").inner_text().replace(",", "").endswith(f"{revenue}")
    assert page.locator("#cut-customers-table tbody tr").count() == len(core)
    shot(page, "operations-cut")

    page.fill("#id_name", "Drop S1")
    page.click("#scenario-save-button")
    page.wait_for_selector("text=Scenario “Drop S1” saved.")
    page.goto(f"{live_server.url}/alpha/operations/cut-impact/?brand=Bolt")
    page.fill("#id_name", "Drop Bolt")
    page.click("#scenario-save-button")
    page.wait_for_selector("text=Scenario “Drop Bolt” saved.")
    with scopes_disabled():
        assert sorted(CutScenario.objects.values_list("name", flat=True)) == ["Drop Bolt", "Drop S1"]
    page.select_option("#id_first", label="Drop S1")
    page.select_option("#id_second", label="Drop Bolt")
    page.click("#compare-button")
    page.wait_for_selector("#comparison")
    assert "Drop S1 vs Drop Bolt" in page.locator("#comparison").inner_text()

    page.click("text=Drop S1")
    page.wait_for_selector("#cut-summary")
    with page.expect_download() as download:
        page.click("#export-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Customer,Name,Cut lines")
    assert len(text.strip().splitlines()) == 1 + len(core)


def test_every_operations_page_in_the_menu(world, live_server, page):
    """Each Operations page opens from the menu, says what it is for, and shows its table."""
    open_as(page, live_server, "alpha-manager")
    for label, table in (
        ("Core demand", "#core-demand-table"),
        ("Scarce stock", "#scarce-table"),
        ("Stock / non-stock", "#to-stock-table"),
        ("Deliveries and routes", "#deliveries-table"),
        ("Marketing lists", "#lookalike-table"),
    ):
        page.click("#nav-operations")
        page.click(f".dropdown-menu >> text={label}")
        page.wait_for_selector(table)
        assert page.locator("#page-purpose").inner_text().startswith("For ")
        assert page.locator(f"{table} tbody tr").count() >= 1
        shot(page, "operations-" + label.split()[0].lower())
