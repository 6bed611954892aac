"""The `inventory` import kind (issue 17): stock per product and branch, all or nothing like every kind.
Bad input (unknown product, negative quantities, a product x branch twice, bad dates) fails the whole
import with each bad row listed; a good file creates, then updates, one row per product x branch."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scopes_disabled

from sales.models import Inventory
from stratify.jobs.models import Job
from tests import factories as f
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

HEADER = "product_id,branch,on_hand,on_order,lead_time_days,as_of\n"


@pytest.fixture
def products(tenant_a):
    with scopes_disabled():
        for sku in ("P-1", "P-2"):
            f.ProductFactory(distributor=tenant_a.distributor, product_id=sku)


def stock(distributor) -> dict:
    with scopes_disabled():
        return {
            (row.product.product_id, row.branch): (row.on_hand, row.on_order, row.lead_time_days, str(row.as_of))
            for row in Inventory.objects.filter(distributor=distributor).select_related("product")
        }


def failed(job) -> list[dict]:
    assert job.status == Job.Status.FAILED, job.message
    return job.result["errors"]


def test_good_file_creates_then_updates(tenant_a, tenant_b, products, run_import):
    job = run_import(tenant_a, "inventory", HEADER + "P-1,East,10,5,14,2026-11-01\nP-1,West,0,,7,2026-11-01\n")
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.result["created"]["inventory"] == 2
    assert stock(tenant_a.distributor) == {
        ("P-1", "East"): (Decimal(10), Decimal(5), 14, "2026-11-01"),
        ("P-1", "West"): (Decimal(0), Decimal(0), 7, "2026-11-01"),
    }
    job = run_import(tenant_a, "inventory", HEADER + "P-1,East,3,0,14,2026-11-02\nP-2,East,1,1,,\n")
    assert job.result["created"]["inventory"] == 1 and job.result["updated"]["inventory"] == 1
    assert stock(tenant_a.distributor)[("P-1", "East")] == (Decimal(3), Decimal(0), 14, "2026-11-02")
    assert stock(tenant_b.distributor) == {}


def test_aliases_and_an_empty_branch_for_a_single_stock_point(tenant_a, products, run_import):
    job = run_import(tenant_a, "inventory", "SKU,Warehouse,Qty On Hand,Lead Time\nP-1,,4,10\nP-2,,2.5,3\n")
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert stock(tenant_a.distributor)[("P-2", "")] == (Decimal("2.5"), Decimal(0), 3, "None")


def test_a_file_without_a_branch_column_is_refused_like_any_missing_column(tenant_a, products, run_import):
    """The spec: `branch` (required; empty for a single stock point)."""
    job = run_import(tenant_a, "inventory", "product_id,on_hand\nP-1,4\n")
    assert job.status == Job.Status.FAILED
    assert job.message == (
        "Missing required column for inventory: branch. The file's columns are: product_id, on_hand."
        " In the mapping step, choose the file column that holds each of them"
        " (from the command line or the API: give a mapping)."
    )
    assert job.result["errors"] == [{"row": None, "column": "branch", "value": "", "reason": "required column missing"}]
    assert stock(tenant_a.distributor) == {}


def test_unknown_product_is_an_error_with_its_row(tenant_a, tenant_b, products, run_import):
    # tenant B's product is unknown to tenant A, like a made-up one
    errors = failed(
        run_import(
            tenant_a, "inventory", HEADER + f"P-1,E,1,0,1,\nNOPE,E,1,0,1,\n{tenant_b.product.product_id},E,1,0,1,\n"
        )
    )
    assert [(e["row"], e["column"], e["value"]) for e in errors] == [
        (3, "product_id", "NOPE"),
        (4, "product_id", tenant_b.product.product_id),
    ]
    assert errors[0]["reason"].startswith("unknown product")
    assert stock(tenant_a.distributor) == {}


def test_negative_quantities_are_errors(tenant_a, products, run_import):
    errors = failed(run_import(tenant_a, "inventory", HEADER + "P-1,E,-1,0,1,\nP-2,E,1,-2,-3,\nP-1,W,0,0,0,\n"))
    assert {(e["row"], e["column"], e["value"]) for e in errors} == {
        (2, "on_hand", "-1"),
        (3, "on_order", "-2"),
        (3, "lead_time_days", "-3"),
    }
    assert all(e["reason"] == "negative (must be 0 or more)" for e in errors)
    assert stock(tenant_a.distributor) == {}


def test_duplicate_product_and_branch(tenant_a, products, run_import):
    errors = failed(run_import(tenant_a, "inventory", HEADER + "P-1,E,1,0,1,\nP-1,W,1,0,1,\nP-1,E,2,0,1,\n"))
    assert errors == [
        {
            "row": 4,
            "column": "product_id, branch",
            "value": "P-1 / E",
            "reason": "duplicate product_id, branch (same as row 2)",
        }
    ]
    errors = failed(run_import(tenant_a, "inventory", "product_id,branch,on_hand\nP-1,,1\nP-1,,2\n"))
    assert errors[0]["row"] == 3 and errors[0]["reason"].startswith("duplicate product_id")


def test_bad_dates_and_numbers(tenant_a, products, run_import):
    errors = failed(run_import(tenant_a, "inventory", HEADER + "P-1,E,1,0,1,2026-13-45\nP-2,E,lots,0,1.5,2026-11-01\n"))
    assert {(e["row"], e["column"], e["reason"].split(" (")[0]) for e in errors} == {
        (2, "as_of", "not a date"),
        (3, "on_hand", "not a number"),
        (3, "lead_time_days", "not a whole number"),
    }


def test_missing_required_column(tenant_a, products, run_import):
    job = run_import(tenant_a, "inventory", "product_id,branch\nP-1,E\n")
    assert job.status == Job.Status.FAILED
    assert job.message.startswith("Missing required column for inventory: on_hand.")


def test_api_command_and_page_offer_the_kind(
    tenant_a, products, write_file, client, django_capture_on_commit_callbacks
):
    client.force_login(tenant_a.manager)
    page = client.get(reverse("import-list", kwargs={"tenant": tenant_a.slug}))
    assert page.status_code == 200 and 'value="inventory"' in page.content.decode()
    api = api_as(tenant_a.manager)
    upload = SimpleUploadedFile("stock.csv", (HEADER + "P-1,E,1,0,1,\n").encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            reverse("api-import-list", kwargs={"tenant": tenant_a.slug}), {"kind": "inventory", "file": upload}
        )
    assert response.status_code == 202, response.content
    detail = api.get(reverse("api-import-detail", kwargs={"tenant": tenant_a.slug, "pk": response.json()["id"]})).json()
    assert detail["status"] == "succeeded" and detail["created"]["inventory"] == 1
    call_command(
        "import_data", tenant_a.slug, "inventory", str(write_file(HEADER + "P-2,E,4,0,1,\n")), stdout=StringIO()
    )
    assert stock(tenant_a.distributor)[("P-2", "E")][0] == Decimal(4)


def test_the_mapping_step_of_the_import_page(tenant_a, products, client, django_capture_on_commit_callbacks):
    """Upload, mapping step (an ERP's own headers, mapped by hand), then the failed import's page lists
    the unknown product with its row, and the corrected file imports."""
    client.force_login(tenant_a.manager)
    list_url = reverse("import-list", kwargs={"tenant": tenant_a.slug})
    content = "Item Code,Whse,Qty Avail,Open PO\nP-1,East,5,1\nNOPE,East,2,0\n"
    preview = client.post(list_url, {"kind": "inventory", "file": SimpleUploadedFile("stock.csv", content.encode())})
    assert preview.status_code == 302
    html = client.get(preview["Location"]).content.decode()
    assert 'name="map_on_hand"' in html
    form = {"map_product_id": "Item Code", "map_branch": "Whse", "map_on_hand": "Qty Avail", "map_on_order": "Open PO"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(preview["Location"], {"date_format": ""} | form)
    html = client.get(response["Location"]).content.decode()
    assert 'data-status="failed"' in html and "<code>NOPE</code>" in html and "unknown product" in html
    assert stock(tenant_a.distributor) == {}
    preview = client.post(
        list_url,
        {"kind": "inventory", "file": SimpleUploadedFile("stock.csv", content.replace("NOPE", "P-2").encode())},
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(preview["Location"], {"date_format": ""} | form)
    assert 'data-status="succeeded"' in client.get(response["Location"]).content.decode()
    assert stock(tenant_a.distributor)[("P-2", "East")][:2] == (Decimal(2), Decimal(0))
