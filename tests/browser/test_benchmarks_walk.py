"""Issue 16, item 8: a Chromium walk of the rep coaching table and the History page — a manager
opens them from the Benchmarks menu, sorts the table, drills into a rep, reads the history's charts
and migration between two runs, and slices it; a rep sees only their own row and the median."""

import pytest

from tests.benchmarks.data import BOOK, FIELDS, build
from tests.browser.test_role_walks import open_as, shot
from tests.conftest import make_tenant
from tests.pages.conftest import make_run

pytestmark = [pytest.mark.browser]


@pytest.fixture
def world(transactional_db):
    tenant = make_tenant("alpha")
    _run, customers, _ = build(tenant)
    changed = {a: (v[0], "marginal" if a == "K1" else v[1], v[1], *v[3:]) for a, v in BOOK.items()}
    make_run(tenant.distributor, {customers[a]: dict(zip(FIELDS, v[1:8], strict=True)) for a, v in changed.items()})
    return tenant


def test_manager_walks_coaching_and_history(world, live_server, page):
    open_as(page, live_server, "alpha-manager")
    page.click("#nav-benchmarks")
    page.click("text=Rep coaching")
    page.wait_for_selector("#coaching-table")
    reps = page.locator("#coaching-table tbody tr td:first-child").all_inner_texts()
    assert reps == ["alpha-R1", "alpha-R2", "alpha-R3"]
    assert page.locator("#coaching-median").is_visible()
    page.click("#coaching-table thead >> text=Net profit")
    page.wait_for_load_state()
    assert "sort=net_profit" in page.url
    shot(page, "coaching")
    page.click("#coaching-table >> text=alpha-R1")
    page.wait_for_selector("#rep-figures")
    assert "alpha-K1" in page.content() and "alpha-K6" not in page.content()
    page.click("#nav-benchmarks")
    page.click("text=History")
    page.wait_for_selector("body[data-history-charts='ready']")
    assert page.locator("#history-table tbody tr").count() == 2
    points = page.evaluate("() => Chart.getChart(document.getElementById('history-counts')).data.datasets[0].data")
    assert len(points) == 2
    assert page.locator("#history-migration").is_visible()
    shot(page, "history")
    page.select_option("#id_slice_by", "region")
    page.fill("#id_slice", "East")
    page.click("#slice-picker button[type=submit]")
    page.wait_for_selector("#slice-note")
    assert "Region: East" in page.locator("#slice-note").inner_text()


def test_rep_sees_only_their_row(world, live_server, page):
    open_as(page, live_server, "alpha-rep")
    page.click("#nav-benchmarks")
    page.click("text=Rep coaching")
    page.wait_for_selector("#coaching-table")
    assert page.locator("#coaching-table tbody tr td:first-child").all_inner_texts() == ["alpha-R1"]
    assert "alpha-R2" not in page.content()
    assert page.locator("text=Leakage").count() == 0  # managers only
    response = page.goto(f"{live_server.url}/alpha/benchmarks/coaching/alpha-R2/")
    assert response.status == 404
