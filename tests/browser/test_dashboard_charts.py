"""Issue 11, item 7: the dashboard's charts as a manager sees them in Chromium — the quadrant draws the
model's thresholds and keeps customers at 1.0 inside its area, its legend lists the segments in the
one order of every page, and the whale curve's tooltip reads in words."""

import re

import pytest
from django_scopes import scopes_disabled

from segments.models import StratificationProfile
from segments.vocabulary import SEGMENT_LABELS, SEGMENT_ORDER
from tests.browser.test_role_walks import open_as, seed
from tests.conftest import make_tenant

pytestmark = [pytest.mark.browser]


@pytest.fixture
def world(transactional_db):
    tenant = make_tenant("alpha")
    seed(tenant, n=20)
    with scopes_disabled():
        assert StratificationProfile.objects.get(distributor=tenant.distributor).current_run is not None
    return tenant


QUADRANT = "Chart.getChart(document.getElementById('quadrant-chart'))"


def dark_share_along(page, *, vertical: bool) -> float:
    """The share of the chart area's pixels along the value (vertical) or profit (horizontal)
    threshold that are near-black and mostly opaque: the dashed line (grid lines are faint, no
    segment colour is that dark)."""
    return page.evaluate(
        """([vertical]) => {
          const chart = Chart.getChart(document.getElementById('quadrant-chart'));
          const area = chart.chartArea, ratio = chart.currentDevicePixelRatio, ctx = chart.ctx;
          const at = vertical ? chart.scales.x.getPixelForValue(window.__lines.value_line)
                              : chart.scales.y.getPixelForValue(window.__lines.profit_line);
          const from = vertical ? area.top : area.left, to = vertical ? area.bottom : area.right;
          let dark = 0, n = 0;
          for (let p = Math.ceil(from) + 2; p < to - 2; p++) {
            let hit = false;
            for (const d of [-1, 0, 1]) {   // the line is 1.5 px wide: look at its neighbours too
              const x = vertical ? at + d : p, y = vertical ? p : at + d;
              const [r, g, b, a] = ctx.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data;
              if (a > 100 && r < 90 && g < 90 && b < 90) hit = true;
            }
            dark += hit ? 1 : 0; n += 1;
          }
          return dark / n;
        }""",
        [vertical],
    )


def test_quadrant_draws_thresholds_keeps_points_inside_and_orders_the_legend(world, live_server, page):
    open_as(page, live_server, "alpha-manager")
    page.wait_for_selector("#quadrant-chart[data-ready='1']")
    data = page.evaluate("() => fetch(document.getElementById('quadrant-chart').dataset.src).then(r => r.json())")
    lines = data["thresholds"]
    assert 0 < lines["value_line"] < 1 and 0 < lines["profit_line"] < 1
    page.evaluate("lines => { window.__lines = lines; }", lines)

    # The thresholds, drawn: most of the pixels along each line are the dashed line's.
    assert dark_share_along(page, vertical=True) > 0.4
    assert dark_share_along(page, vertical=False) > 0.4
    help_text = page.locator("#quadrant-help").inner_text()
    assert "top 30% by value score" in help_text and "top 30% by profit score" in help_text

    # Every point, a customer at 1.0 included, is drawn whole inside the chart area.
    outside = page.evaluate(
        f"""() => {{
          const chart = {QUADRANT}, area = chart.chartArea, out = [];
          chart.data.datasets.forEach((d, i) => chart.getDatasetMeta(i).data.forEach((el, j) => {{
            const r = d.pointRadius;
            if (el.x - r < area.left || el.x + r > area.right || el.y - r < area.top || el.y + r > area.bottom)
              out.push(d.data[j]);
          }}));
          const x = chart.scales.x, y = chart.scales.y;
          const corner = [x.getPixelForValue(1) + 3 <= area.right, y.getPixelForValue(1) - 3 >= area.top];
          return {{out: out.length, corner}};
        }}"""
    )
    assert outside == {"out": 0, "corner": [True, True]}

    # The legend lists the segments in the one order of every page.
    legend = page.evaluate(f"() => {QUADRANT}.data.datasets.map(d => d.label.replace(/ \\(\\d+\\)$/, ''))")
    assert legend == [SEGMENT_LABELS[s] for s in SEGMENT_ORDER if s != "lapsed"]
    rows = page.locator("#segment-summary tbody tr").evaluate_all("rows => rows.map(r => r.dataset.segment)")
    assert rows == [s for s in SEGMENT_ORDER if s in rows]


def test_whale_curve_tooltip_reads_in_words(world, live_server, page):
    open_as(page, live_server, "alpha-manager")
    page.wait_for_selector("#whale-chart[data-ready='1']")
    box = page.locator("#whale-chart").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    page.wait_for_timeout(200)
    lines = page.evaluate(
        "() => Chart.getChart(document.getElementById('whale-chart')).tooltip.body.flatMap(b => b.lines)"
    )
    assert lines, "no tooltip"
    assert all(re.fullmatch(r"The top [\d.,]+% of customers earn -?[\d.,]+% of net profit", line) for line in lines), (
        lines
    )
