"""Item 8: each role's main path in a real browser (Playwright + the system Chromium), against
pytest-django's live server on a real (file) database. Jobs run eagerly in the server thread.

- manager: changes a weight, previews (what-if), publishes the preview, edits a tier policy;
- rep: filters to core, opens a customer, logs an interaction, exports CSV;
- customer: sees the scorecard and cannot reach staff pages.

Set STRATIFY_SCREENSHOTS=<dir> to save screenshots of the three main pages (README)."""

import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django_scopes import scope, scopes_disabled

from sales import summaries
from sales.models import Customer, InvoiceLine
from segments import services
from segments.models import CustomerScore, StratificationProfile
from stratify.jobs.services import job_execute
from tests import factories as f
from tests.conftest import PASSWORD, make_tenant

pytestmark = [pytest.mark.browser]
AS_OF = date(2026, 6, 30)
SHOTS = os.environ.get("STRATIFY_SCREENSHOTS")


def seed(tenant, n: int = 14) -> None:
    """n customers of the tenant's rep (plus the fixture's), a year of invoices where bigger
    customers buy more per order (so they rank core), their summaries, and a published run."""
    d = tenant.distributor
    with scopes_disabled():
        products = [
            f.ProductFactory(distributor=d, product_id=f"SKU-{c}", category=c)
            for c in ("Pipe", "Valves", "Fasteners", "Safety", "Electrical")
        ]
        customers = [tenant.assigned_customer, tenant.unassigned_customer] + [
            f.CustomerFactory(distributor=d, rep=tenant.rep, customer_id=f"{tenant.slug}-W{i:02d}", name=f"Walk Co {i}")
            for i in range(n)
        ]
        lines = []
        for i, customer in enumerate(customers):
            size = Decimal(50 * (i + 1) ** 2)
            for m in range(12):
                day = AS_OF - timedelta(days=30 * m + (i % 7))
                for k in range(1 + i % 3):
                    product = products[(i + k + m) % (1 + min(4, i // 3))]
                    lines.append(
                        InvoiceLine(
                            distributor=d,
                            invoice_id=f"{customer.customer_id}-{m}",
                            line_no=k + 1,
                            invoice_date=day,
                            customer=customer,
                            product=product,
                            quantity=Decimal(1),
                            revenue=size,
                            cost=size * Decimal("0.7") if i % 4 else size * Decimal("0.9"),
                            days_to_pay=20 + i % 40,
                            ship_method="truck",
                        )
                    )
        InvoiceLine.objects.bulk_create(lines)
        summaries.refresh_tenant(d)  # month sums and the run's summaries, as an import keeps them
    with scope(distributor=d):
        run = services.run_request(distributor=d, publish=True, dispatch=False)
        job_execute(run.job_id)


@pytest.fixture
def world(transactional_db):
    tenant = make_tenant("alpha")
    seed(tenant)
    with scopes_disabled():
        profile = StratificationProfile.objects.get(distributor=tenant.distributor)
        assert profile.current_run is not None, "the seed run must publish"
    return tenant


def open_as(page, live_server, username, *, width=1280, height=900):
    """Log in through the login form on the shared `page` fixture (tests/browser/conftest.py blocks
    and reports any request that would leave the machine)."""
    page.set_viewport_size({"width": width, "height": height})
    page.set_default_timeout(20000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state()
    return page


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_manager_changes_a_weight_previews_publishes_and_edits_a_tier(world, live_server, page):
    open_as(page, live_server, "alpha-manager")
    assert page.url.endswith("/alpha/dashboard/")
    page.wait_for_selector("#quadrant-chart[data-ready='1']")
    assert page.locator("#segment-summary tbody tr").count() >= 4
    assert page.locator("#whale-peak").is_visible()
    shot(page, "dashboard")
    with scopes_disabled():
        first = StratificationProfile.objects.get(distributor=world.distributor).current_run_id

    page.click("text=Model settings")
    page.fill("#id_value_w_revenue", "0.9")
    page.fill("#id_value_w_orders", "0")
    page.click("#preview")
    page.wait_for_selector("#run-status")
    assert page.locator("#run-status").inner_text() == "Succeeded"
    assert page.locator("#moved-count").is_visible()
    page.click("#publish-run")
    page.wait_for_selector("text=is published")
    with scopes_disabled():
        profile = StratificationProfile.objects.get(distributor=world.distributor)
        assert profile.current_run_id != first and profile.previous_run_id == first
        assert profile.current_run.settings["value_weights"]["revenue"] == 0.9

    page.goto(f"{live_server.url}/alpha/tiers/")
    page.click("#edit-service_drain")
    page.fill("#id_discount_pct", "150")
    page.click("#save-policy")
    assert "Discount %: Must be between 0 and 100." in page.locator("#form-errors").inner_text()
    page.fill("#id_discount_pct", "3")
    page.fill("#id_tier_name", "Gold Star")
    page.click("#save-policy")
    page.wait_for_selector("text=Tier Gold Star saved.")
    assert "Gold Star" in page.locator("#policy-changes").inner_text()


def test_rep_filters_to_core_opens_a_customer_logs_an_interaction_and_exports(world, live_server, page):
    open_as(page, live_server, "alpha-rep")
    assert page.url.endswith("/alpha/customers/")
    page.select_option("#id_segment", "core")
    page.click("#customer-filter button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("#my-customers-table tbody tr")
    assert rows.count() >= 1
    assert all(text == "Core" for text in page.locator("#my-customers-table .badge-segment").all_inner_texts())
    shot(page, "my-customers")

    page.locator("#my-customers-table tbody tr a").first.click()
    page.wait_for_selector("#customer-segment")
    assert page.locator("#customer-segment").inner_text() == "Core"
    assert page.locator("#customer-reasons li").count() >= 1
    page.fill("#id_interaction_summary", "Browser walk: quarterly review booked")
    page.select_option("#id_interaction_kind", "visit")
    page.click("#interaction-form button[type=submit]")
    page.wait_for_selector("text=Interaction logged.")
    assert "quarterly review booked" in page.locator("#interaction-list").inner_text()

    page.go_back()
    page.goto(f"{live_server.url}/alpha/customers/?segment=core")
    with page.expect_download() as download:
        page.click("#export-csv")
    content = Path(download.value.path()).read_text()
    assert content.splitlines()[0].startswith("Account,Customer")
    with scopes_disabled():
        core = CustomerScore.objects.filter(
            distributor=world.distributor,
            run=StratificationProfile.objects.get(distributor=world.distributor).current_run,
            segment="core",
            customer__rep=world.rep,
        ).count()
    assert len(content.splitlines()) == core + 1


def test_customer_sees_the_scorecard_and_cannot_reach_staff_pages(world, live_server, page):
    open_as(page, live_server, "alpha-customer", width=390, height=844)  # a phone
    assert page.url.endswith("/alpha/scorecard/")
    assert page.locator("#tier-name").is_visible()
    assert page.locator(".target-row").count() >= 1  # issue 12: each target met or not, with its gap
    text = page.locator("main").inner_text().lower()
    for word in ("segment", "cost to serve", "service drain", "score "):
        assert word not in text
    shot(page, "scorecard")
    for path in ("/alpha/dashboard/", "/alpha/customers/", "/alpha/model/", "/alpha/tiers/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status in (403, 404), path
    with scopes_disabled():
        assert Customer.objects.filter(distributor=world.distributor).count() >= 16
