"""Issue 11, item 6: the account review and the scorecard print on A4 and Letter, whole.

Printed to PDF by Chromium (Playwright's `page.pdf`, which lays the page out with the print styles),
then read back with `pdftotext` (poppler-utils; .ci/run installs it):
- the account review fits on at most 2 pages (page 1: who, segment, trend chart, category mix and
  playbook; page 2: the monthly figures, recent interactions and the notes box), the scorecard on 1
  (a customer gets one sheet);
- every category of the mix and every month of the trend is in the PDF's text (no clipped table);
- the charts are resized to the page (the canvas fits inside its box, as wide as the page allows).

Set STRATIFY_PRINTS=<dir> to keep the PDFs."""

import os
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django_scopes import scope, scopes_disabled

from sales import summaries
from sales.models import InvoiceLine
from segments import services
from stratify.jobs.services import job_execute
from tests import factories as f
from tests.browser.test_role_walks import open_as
from tests.conftest import make_tenant

pytestmark = [pytest.mark.browser]
AS_OF = date(2026, 6, 30)
CATEGORIES = [
    "Binders", "Paper", "Phones", "Storage", "Chairs", "Furnishings", "Accessories", "Appliances", "Art",
    "Bookcases", "Copiers", "Envelopes", "Fasteners", "Labels", "Machines", "Supplies", "Tables",
    # A broad buyer's mix (the demo's widest customer buys in 38 categories): the review's category
    # gaps then run onto the second page and must still leave it room for the rest.
    "Abrasives", "Adhesives", "Bearings", "Conduit", "Tooling", "Drives", "Ductwork", "Filters", "Handtools",
    "Controls", "Hydraulics", "Insulation", "Janitorial", "Ladders", "Lighting", "Lubricants", "Motors",
    "Packaging", "Pipe", "Pumps", "Refrigerants", "Safety", "Valves",
]  # fmt: skip
FORMATS = ["A4", "Letter"]


def seed(tenant) -> None:
    """The tenant's assigned customer buys every month for two years across the 40 categories, peers
    fill the core segment; 15 interactions; one published run."""
    d = tenant.distributor
    with scopes_disabled():
        products = [f.ProductFactory(distributor=d, product_id=f"SKU-{c}", category=c) for c in CATEGORIES]
        peers = [
            f.CustomerFactory(distributor=d, rep=tenant.other_rep, customer_id=f"alpha-P{i:02d}", name=f"Peer {i}")
            for i in range(12)
        ]
        customers = [tenant.assigned_customer, tenant.unassigned_customer, *peers]
        lines = []
        for i, customer in enumerate(customers):
            size = Decimal(40 * (i + 1) ** 2)
            for m in range(24):
                day = AS_OF - timedelta(days=30 * m + (i % 5))
                for k in range(3):
                    product = products[(i * 3 + m + k) % len(products)]
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
                            cost=size * Decimal("0.7"),
                            days_to_pay=25 + i,
                            ship_method="truck",
                        )
                    )
        InvoiceLine.objects.bulk_create(lines)
        summaries.refresh_tenant(d)
        for n in range(15):
            f.InteractionFactory(
                distributor=d,
                customer=tenant.assigned_customer,
                date=AS_OF - timedelta(days=9 * n),
                summary=f"Visit {n}: talked about the spring order and the delivery windows.",
            )
    with scope(distributor=d):
        run = services.run_request(distributor=d, publish=True, dispatch=False)
        job_execute(run.job_id)


@pytest.fixture
def world(transactional_db):
    tenant = make_tenant("alpha")
    seed(tenant)
    return tenant


def pdf_text(path) -> tuple[int, str]:
    assert shutil.which("pdftotext") and shutil.which("pdfinfo"), "apt-get install poppler-utils (.ci/run does)"
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return pages, text


# The printable width at the 14 mm margins of the print styles, in CSS pixels (96 per inch).
PRINT_WIDTH = {"A4": round((210 - 28) / 25.4 * 96), "Letter": round((215.9 - 28) / 25.4 * 96)}


def print_to_pdf(page, path, paper: str):
    """What a person's "Print" does: the page laid out at the paper's printable width with the print
    styles (the charts are drawn again for it), then printed on that paper."""
    page.set_viewport_size({"width": PRINT_WIDTH[paper], "height": 1000})
    page.emulate_media(media="print")
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    drawn = charts_drawn_for_paper(page)
    assert drawn and all(width <= PRINT_WIDTH[paper] for width in drawn), (paper, drawn)
    page.pdf(path=str(path), format=paper, print_background=True)
    if os.environ.get("STRATIFY_PRINTS"):  # keep the PDFs to look at
        Path(os.environ["STRATIFY_PRINTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ["STRATIFY_PRINTS"]) / f"{Path(path).stem}-{paper}.pdf")
    return pdf_text(path)


def charts_drawn_for_paper(page) -> list[float]:
    """Each chart's drawing width (CSS pixels) under print media: at most the paper's width, so the
    chart was drawn again for paper rather than squeezed or cut from its screen size."""
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.chart-box canvas')).map(c => Chart.getChart(c).width)"
    )


def charts_fit(page) -> list[dict]:
    """Each chart's canvas against its box under print media: whole (not wider than the box) and
    resized (at least 90% of the box's width, so the chart was redrawn for paper)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.chart-box canvas')).map(c => {
             const box = c.parentElement.getBoundingClientRect(), r = c.getBoundingClientRect();
             return {id: c.id, canvas: r.width, box: box.width, height: r.height, boxHeight: box.height};
           })"""
    )


@pytest.mark.parametrize("paper", FORMATS)
def test_account_review_prints_on_two_pages_with_every_category_and_month(world, live_server, page, tmp_path, paper):
    open_as(page, live_server, "alpha-rep")
    page.goto(f"{live_server.url}/alpha/customers/{world.assigned_customer.customer_id}/review/")
    page.wait_for_selector("#trend-chart[data-ready='1']")
    with scopes_disabled():
        bought = set(
            InvoiceLine.objects.filter(distributor=world.distributor).values_list("product__category", flat=True)
        )
    categories = page.locator("#category-mix tbody td.category").all_inner_texts()
    months = page.locator("#trend-table tbody td.month").all_inner_texts()
    assert len(months) == 24 and set(categories) <= bought and len(categories) > 10

    pages, text = print_to_pdf(page, tmp_path / "review.pdf", paper)
    assert pages <= 2, f"the review runs to {pages} pages on {paper}"
    assert "Account review" in text and "Recent interactions" in text and "Notes and next steps" in text
    missing = [c for c in categories if c not in text]  # (one-word names: a wrapped cell interleaves its lines)
    assert not missing, f"categories missing from the printed review: {missing}"
    missing = [m for m in months if m not in text]
    assert not missing, f"months missing from the printed review: {missing}"
    for chart in charts_fit(page):
        assert chart["canvas"] <= chart["box"] + 1 and chart["canvas"] >= 0.9 * chart["box"], chart
        assert chart["height"] <= chart["boxHeight"] + 1, chart


@pytest.mark.parametrize("paper", FORMATS)
def test_scorecard_prints_on_one_page_with_every_month(world, live_server, page, tmp_path, paper):
    open_as(page, live_server, "alpha-customer")
    assert page.url.endswith("/alpha/scorecard/")
    page.wait_for_selector("#trend-chart[data-ready='1']")
    months = page.locator("#trend-table td.month").all_inner_texts()
    assert len(months) == 24

    pages, text = print_to_pdf(page, tmp_path / "scorecard.pdf", paper)
    assert pages == 1, f"the scorecard runs to {pages} pages on {paper}"
    assert "Your scorecard" in text and "Your purchases, month by month" in text
    missing = [m for m in months if m not in text]
    assert not missing, f"months missing from the printed scorecard: {missing}"
    for chart in charts_fit(page):
        assert chart["canvas"] <= chart["box"] + 1 and chart["canvas"] >= 0.9 * chart["box"], chart


PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("paper", FORMATS)
def test_scorecard_on_a_phone_and_its_printable_page_as_pdf(world, live_server, page, tmp_path, paper):
    """Issue 12, item 7: a customer's scorecard on a phone (nothing wider than the screen, every target
    met or not with its gap in words), then its printable page printed to PDF: one or two pages,
    every target and its gap in the text, the chart whole."""
    open_as(page, live_server, "alpha-customer", **PHONE)
    page.wait_for_selector("#trend-chart[data-ready='1']")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    rows = page.locator(".target-row")
    assert rows.count() >= 3
    labels, texts = [], []
    for i in range(rows.count()):
        row = rows.nth(i)
        assert row.is_visible()
        badge = row.locator(".badge").inner_text()
        assert badge == ("Met" if row.get_attribute("data-met") == "true" else "Not met")
        labels.append(row.locator("span").first.inner_text().split(" (")[0])
        texts.append(row.locator(".target-text").inner_text())
    shot_name = page.locator("h2.h5").first.inner_text()
    assert shot_name.startswith(("Your path to", "What it takes to keep"))

    page.click("#printable-scorecard")
    page.wait_for_selector("#trend-chart[data-ready='1']")
    assert page.url.endswith("/alpha/scorecard/print/")
    assert not page.locator("nav.navbar").is_visible()
    pages, text = print_to_pdf(page, tmp_path / "scorecard-print.pdf", paper)
    assert pages <= 2, f"the printable scorecard runs to {pages} pages on {paper}"
    flat = " ".join(text.split())
    missing = [x for x in labels + texts if " ".join(x.split()) not in flat]
    assert not missing, f"targets missing from the printed scorecard: {missing}"
    assert "Your purchases, month by month" in text
    for chart in charts_fit(page):
        assert chart["canvas"] <= chart["box"] + 1 and chart["canvas"] >= 0.9 * chart["box"], chart
        assert chart["height"] <= chart["boxHeight"] + 1, chart
