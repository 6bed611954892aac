"""Issue 16, item 8: a Chromium walk of the rep coaching table and the History page — a manager
opens them from the Benchmarks menu, sorts the table, drills into a rep, reads the history's charts
and migration between two runs, and slices it; a rep sees only their own row and the median."""

import re

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
    reps = page.locator("#coaching-table tbody tr.rep-row td:first-child").all_inner_texts()
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
    assert page.locator("#coaching-table tbody tr.rep-row td:first-child").all_inner_texts() == ["alpha-R1"]
    assert "alpha-R2" not in page.content()
    assert page.locator("text=Leakage").count() == 0  # managers only
    response = page.goto(f"{live_server.url}/alpha/benchmarks/coaching/alpha-R2/")
    assert response.status == 404


ALIGNMENT = """() => {
  // Each column's right edge in the header, and each median cell's, in order (the label spans two).
  const right = el => Math.round(el.getBoundingClientRect().right);
  const heads = [...document.querySelectorAll('#coaching-table thead th')].map(right);
  const foot = [...document.querySelectorAll('#coaching-median tr > *')].map(right);
  return {heads, foot};
}"""


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_coaching_reads_on_a_laptop_and_prints_whole(world, live_server, page, tmp_path, paper):
    """At 1,366 px the coaching points read across the table (they were a column squeezed to ~60 px)
    and the team median sits under the same columns; printed on A4 or Letter the table starts on the
    first page (it was pushed to the second, leaving the first blank) and keeps every column (it was
    cut after "Out of core") and every point."""
    from tests.browser.test_print import pdf_text

    open_as(page, live_server, "alpha-manager", width=1366, height=900)
    page.goto(f"{live_server.url}/alpha/benchmarks/coaching/")
    page.wait_for_selector("#coaching-table")
    width = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('.points-row td:last-child')]"
        ".map(td => td.getBoundingClientRect().width))"
    )
    assert width >= 600, width
    assert page.evaluate(
        "() => document.querySelector('#coaching-table').getBoundingClientRect().right <= window.innerWidth"
    )
    lines = page.evaluate(ALIGNMENT)
    assert lines["foot"] == lines["heads"][1:], lines  # "Team median" spans Rep and Name
    headers = [h.strip() for h in page.locator("#coaching-table thead th").all_inner_texts()]
    points = page.locator(".coaching-points li").all_inner_texts()
    assert points, "the fixture's reps have coaching points"
    page.emulate_media(media="print")
    path = tmp_path / f"coaching-{paper}.pdf"
    page.pdf(path=str(path), format=paper, print_background=True)
    pages, text = pdf_text(path)
    first = text.split("\f")[0]
    assert "alpha-R1" in first and "Team median" in text, first
    flat = " ".join(text.split())
    for header in headers:  # (a wrapped header cell interleaves its lines with its neighbours')
        assert all(word in flat for word in re.split(r"[\s-]+", header) if word), header
    for point in points:
        assert point[:40] in flat, point


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_history_prints_its_per_run_table_whole(world, live_server, page, tmp_path, paper):
    """Printed on A4 or Letter, the per-run table keeps every column: it was cut after "Whale" (the
    whale peak, core retention and the settings changed were off the page)."""
    from tests.browser.test_print import pdf_text

    open_as(page, live_server, "alpha-manager", width=1366, height=900)
    page.goto(f"{live_server.url}/alpha/benchmarks/history/")
    page.wait_for_selector("body[data-history-charts='ready']")
    cells = [c.strip() for c in page.locator("#history-table tbody td").all_inner_texts()]
    page.emulate_media(media="print")
    path = tmp_path / f"history-{paper}.pdf"
    page.pdf(path=str(path), format=paper, print_background=True)
    _pages, text = pdf_text(path)
    flat = " ".join(text.split())
    for header in ("Whale peak", "Core retention", "Settings changed", "Net profit"):
        assert all(word in flat for word in header.split()), header
    for cell in cells:  # every figure of every run, the last columns' included
        assert all(part.strip() in flat for part in cell.split("·")), cell


def test_trend_and_whale_axes_start_at_zero(world, live_server, page):
    """History's charts and the profit centers' whale curve draw their value axes from zero (the whale
    peak's axis started at 610,000 and made a 2.6% dip look like a fall; the whale curve's at its
    lowest point); core retention keeps its own 0-100% axis with marked points."""
    open_as(page, live_server, "alpha-manager", width=1366, height=900)
    page.goto(f"{live_server.url}/alpha/benchmarks/history/")
    page.wait_for_selector("body[data-history-charts='ready']")
    axes = page.evaluate(
        """() => Object.fromEntries(['history-counts', 'history-profit', 'history-revenue', 'history-retention']
             .map(id => [id, Object.fromEntries(Object.entries(Chart.getChart(id).scales)
               .filter(([k]) => k !== 'x').map(([k, s]) => [k, s.min]))]))"""
    )
    for chart, scales in axes.items():
        assert all(low <= 0 for low in scales.values()), (chart, scales)
    assert axes["history-retention"] == {"y": 0, "y1": 0}
    retention = page.evaluate("() => Chart.getChart('history-retention').data.datasets[0].pointRadius")
    assert retention >= 4


def test_profit_centers_whale_curve_starts_at_zero(transactional_db, live_server, page):
    from decimal import Decimal

    from django_scopes import scope

    from segments import services
    from stratify.jobs.services import job_execute
    from tests.segments.helpers import make_catalog, run_profit_centers, simple_lines, write_lines

    tenant = make_tenant("alpha")
    customers, products = make_catalog(tenant.distributor)
    rows = simple_lines(customers, products)
    for row in rows:  # every category earns: the curve climbs and stays far above zero
        row["cost"] = row["revenue"] * Decimal("0.2")
        row["quantity"], row["revenue"] = abs(row["quantity"]), abs(row["revenue"])
    write_lines(tenant.distributor, rows)
    with scope(distributor=tenant.distributor):
        run = services.run_request(distributor=tenant.distributor, dispatch=False, publish=True)
    job_execute(run.job_id)
    run_profit_centers(run)
    open_as(page, live_server, "alpha-manager", width=1366, height=900)
    page.goto(f"{live_server.url}/alpha/profit-centers/?dimension=category")
    page.wait_for_function("() => window.Chart && Chart.getChart('profit-whale-chart')")
    curve = page.evaluate("() => Chart.getChart('profit-whale-chart').data.datasets[0].data")
    assert min(curve) > 0  # the curve stays above zero: the axis would start near its lowest point
    assert page.evaluate("() => Chart.getChart('profit-whale-chart').scales.y.min") == 0
