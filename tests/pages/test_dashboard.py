"""Manager dashboard: segment figures, quadrant data, whale curve, migration matrix, re-run."""

import re

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from segments.models import StratificationRun
from segments.vocabulary import SEGMENT_ORDER
from tests import factories as f

from .conftest import login, make_run

pytestmark = pytest.mark.django_db


def url(tenant, name="dashboard", **kw):
    return reverse(name, kwargs={"tenant": tenant.slug, **kw})


def two_runs(tenant):
    with scopes_disabled():
        extra = [f.CustomerFactory(distributor=tenant.distributor, rep=tenant.rep) for _ in range(3)]
    a, b = tenant.assigned_customer, tenant.unassigned_customer
    make_run(tenant.distributor, {a: {"segment": "marginal"}, b: {"segment": "core"}, extra[0]: {"segment": "core"}})
    return make_run(
        tenant.distributor,
        {
            a: {"segment": "core", "previous_segment": "marginal", "net_profit": 5000.0},
            b: {"segment": "service_drain", "previous_segment": "core", "net_profit": -800.0, "cost_to_serve": 4000.0},
            extra[0]: {"segment": "core", "previous_segment": "core", "net_profit": 1000.0},
            extra[1]: {"segment": "opportunistic", "net_profit": 300.0},
            extra[2]: {"segment": "lapsed", "net_profit": None, "revenue": 0.0},
        },
    ), extra


def test_without_a_published_run_the_dashboard_says_so(tenant_a):
    response = login(tenant_a.manager).get(url(tenant_a))
    assert response.status_code == 200
    assert "No published stratification yet" in response.content.decode()


def test_dashboard_shows_segments_whale_peak_and_migration(tenant_a):
    run, extra = two_runs(tenant_a)
    response = login(tenant_a.manager).get(url(tenant_a))
    assert response.status_code == 200
    summary = {row["segment"]: row for row in response.context["summary"]["rows"]}
    assert summary["core"]["count"] == 2
    assert summary["service_drain"]["count"] == 1
    assert summary["lapsed"]["count"] == 1
    assert summary["core"]["net_profit"] == 6000.0
    # Shares of net profit are of the total (6000 - 800 + 300 = 5500).
    assert summary["service_drain"]["net_profit_pct"] == pytest.approx(-800 / 5500 * 100, abs=0.1)
    whale = response.context["whale"]
    assert whale["n"] == 4  # lapsed customers are not ranked
    assert whale["peak"]["customers"] == 3 and whale["peak"]["value"] == 6300.0
    assert whale["total"] == 5500.0
    html = response.content.decode()
    assert "customers (75.0% of the 4 ranked, the lapsed aside) earn" in html  # the share's base said
    assert f"Run #{run.number}" in html and "Jun 30, 2026" in html  # issue 11: the tenant's locale (en_US)
    assert 'id="rerun"' in html
    # Each migration cell links to the customers who made that move.
    customers = reverse("my-customers", kwargs={"tenant": tenant_a.slug})
    assert f'href="{customers}?previous=marginal&amp;segment=core"' in html
    migration = response.context["migration"]
    cells = {(r["from"], c["to"]): c["n"] for r in migration["rows"] for c in r["cells"]}
    assert cells[("marginal", "core")] == 1
    assert cells[("core", "service_drain")] == 1
    assert cells[("core", "core")] == 1
    assert cells[("new", "opportunistic")] == 1
    assert migration["moved"] == 2


def test_quadrant_json_lists_ranked_customers_by_segment(tenant_a):
    two_runs(tenant_a)
    data = login(tenant_a.manager).get(url(tenant_a, "dashboard-quadrant")).json()
    by_segment = {d["segment"]: d["points"] for d in data["datasets"]}
    accounts = {p[2] for p in by_segment["core"]}
    assert tenant_a.assigned_customer.customer_id in accounts
    assert sum(len(p) for p in by_segment.values()) == 4  # the lapsed customer has no scores


def test_dashboard_is_for_managers_only(tenant_a, tenant_b):
    two_runs(tenant_a)
    assert login(tenant_a.rep_user).get(url(tenant_a)).status_code == 403
    assert login(tenant_a.customer_user).get(url(tenant_a)).status_code == 403
    assert login(tenant_a.customer_user).get(url(tenant_a, "dashboard-quadrant")).status_code == 403
    assert login(tenant_b.manager).get(url(tenant_a)).status_code == 404


def test_rerun_button_queues_a_run_that_publishes(tenant_a):
    response = login(tenant_a.manager).post(url(tenant_a, "run-request"))
    with scopes_disabled():
        run = StratificationRun.objects.get(distributor=tenant_a.distributor)
    assert run.publish_requested is True
    assert response.status_code == 302
    assert response["Location"] == url(tenant_a, "run-detail", run_id=run.number)
    assert login(tenant_a.rep_user).post(url(tenant_a, "run-request")).status_code == 403


def test_segments_appear_in_the_one_order_everywhere_on_the_dashboard(tenant_a):
    """Item 7: the figures table, the quadrant's datasets (its legend) and the migration matrix list
    segments in SEGMENT_ORDER (core, opportunistic, service drain, marginal, lapsed)."""
    two_runs(tenant_a)
    client = login(tenant_a.manager)
    response = client.get(url(tenant_a))
    order = list(SEGMENT_ORDER)
    summary = [row["segment"] for row in response.context["summary"]["rows"]]
    assert summary == [s for s in order if s in summary] and "opportunistic" in summary
    assert re.findall(r'<tr data-segment="(\w+)">', response.content.decode()) == summary
    assert [col["segment"] for col in response.context["migration"]["to"]] == [
        s for s in order if s in {col["segment"] for col in response.context["migration"]["to"]}
    ]
    data = client.get(url(tenant_a, "dashboard-quadrant")).json()
    assert [d["segment"] for d in data["datasets"]] == [s for s in order if s != "lapsed"]


def test_quadrant_json_carries_the_threshold_lines(tenant_a):
    """Item 7: where the thresholds fall on the quadrant's axes, from the run's own segments (the
    vertical line between high and low value, the horizontal one between high and low profit)."""
    two_runs(tenant_a)
    t = login(tenant_a.manager).get(url(tenant_a, "dashboard-quadrant")).json()["thresholds"]
    assert t["value_top_share"] == 0.3 and t["profit_top_share"] == 0.3
    assert 0 < t["value_line"] <= 1 and 0 < t["profit_line"] <= 1
