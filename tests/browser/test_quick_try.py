"""Issue 11, item 1: the README's quick try in a real browser. A tenant whose data reaches mid-2026
imports a Superstore-like file dated 2014–2017: the mapping step detects the date format, the import
succeeds and says its lines are outside the published run's window, the button runs (and publishes)
the model as of the file's last date, and the file's customers are then ranked."""

import csv
import io
from datetime import date, timedelta

import pytest
from django_scopes import scopes_disabled

from segments.models import CustomerScore, StratificationProfile
from tests.browser.test_role_walks import open_as, seed
from tests.conftest import make_tenant

pytestmark = [pytest.mark.browser]

# The header of ../shared/data/superstore.csv
HEADER = "Row ID,Order ID,Order Date,Ship Date,Ship Mode,Customer ID,Customer Name,Segment,Country,City,State,"
HEADER += "Postal Code,Region,Product ID,Category,Sub-Category,Product Name,Sales,Quantity,Discount,Profit"
CUSTOMERS = [f"SS-{i:03d}" for i in range(8)]


def superstore_like() -> bytes:
    """40 orders of 8 customers from 2014 to 2017 (m/d/Y dates, some with a day over 12), bigger
    customers buying more, with the sample's columns."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER.split(","))
    row = 0
    for n in range(40):
        customer = n % len(CUSTOMERS)
        day = date(2014, 1, 3) + timedelta(days=n * 37)
        for k in range(1 + customer % 3):
            row += 1
            sales = 40.0 * (customer + 1) ** 2 + k
            us_date = f"{day.month}/{day.day}/{day.year}"
            place = ["United States", "Henderson", "Kentucky", "42420", "South"]
            order = [row, f"CA-{day.year}-{n:06d}", us_date, us_date, "Second Class", CUSTOMERS[customer]]
            product = [f"OFF-PA-{k:08d}", "Office Supplies", "Paper", f"Paper {k}"]
            profit = sales * (0.1 + 0.05 * (customer % 4))
            writer.writerow(
                [
                    *order,
                    f"Store Customer {customer}",
                    "Consumer",
                    *place,
                    *product,
                    f"{sales:.2f}",
                    2,
                    0,
                    f"{profit:.4f}",
                ]
            )
    return out.getvalue().encode()


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant = make_tenant("alpha")
    seed(tenant)  # data to 2026-06-30 and a run published as of then
    return tenant


def test_the_quick_try_ranks_the_imported_customers_after_a_run_as_of_the_files_last_date(world, live_server, page):
    open_as(page, live_server, "alpha-manager")
    page.goto(f"{live_server.url}/alpha/imports/")
    page.select_option("#id_kind", "invoice_lines")
    page.set_input_files(
        "#id_file", files=[{"name": "superstore.csv", "mimeType": "text/csv", "buffer": superstore_like()}]
    )
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#mapping-form")

    # The mapping step: the date format is detected; cost is what the README says to map.
    assert page.input_value("#id_date_format") == "%m/%d/%Y"
    assert page.locator("#date-format-detected").is_visible()
    page.fill("#id_map_cost", "Sales - Profit")
    page.check("#id_restratify")
    page.click("#mapping-form button[type=submit]")

    # The result page: succeeded, but outside the published run's window, which it says.
    page.wait_for_selector("#import-status[data-status='succeeded']")
    warning = page.locator("#outside-window")
    warning.wait_for()
    text = warning.inner_text()
    assert "outside" in text and "not ranked" in text
    assert page.locator("#restratify-follow-up").is_visible()
    with scopes_disabled():
        profile = StratificationProfile.objects.get(distributor=world.distributor)
        assert not CustomerScore.objects.filter(run=profile.current_run, customer__customer_id__in=CUSTOMERS).exists()

    page.click("#run-as-of")
    page.wait_for_selector("#run-status")
    assert page.locator("#run-status").inner_text() == "Succeeded"
    with scopes_disabled():
        profile = StratificationProfile.objects.get(distributor=world.distributor)
        run = profile.current_run
        assert run.as_of == date(2014, 1, 3) + timedelta(days=39 * 37)
        ranked = set(
            CustomerScore.objects.filter(run=run)
            .exclude(segment="lapsed")
            .values_list("customer__customer_id", flat=True)
        )
    assert set(CUSTOMERS) <= ranked

    # A person sees them ranked: the customers list shows them with a segment.
    page.goto(f"{live_server.url}/alpha/customers/?q=Store+Customer")
    rows = page.locator("table tbody tr")
    assert rows.count() == len(CUSTOMERS)
    assert all(rows.nth(i).locator(".badge-segment").count() == 1 for i in range(rows.count()))
