"""The import API and pages: upload, mapping step (with the superstore sample), progress, errors."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from imports.models import ColumnMapping
from sales.models import InvoiceLine, Product
from stratify.jobs.models import Job
from tests.conftest import api_as
from tests.imports.conftest import table_counts
from tests.imports.test_pipeline import LINES, SUPERSTORE, SUPERSTORE_MAPPING

pytestmark = pytest.mark.django_db


def upload(content: str | bytes, name="lines.csv"):
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def api_url(t, name="api-import-list", **kwargs):
    return reverse(name, kwargs={"tenant": t.slug, **kwargs})


# --- API -------------------------------------------------------------------------------------------


def test_api_post_runs_the_import_as_a_job(tenant_a, media, django_capture_on_commit_callbacks):
    client = api_as(tenant_a.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(api_url(tenant_a), {"kind": "invoice_lines", "file": upload(LINES)})
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    saved = list((Path(media) / "imports" / tenant_a.slug).glob("*/lines.csv"))
    assert saved == []  # it ran on commit, and a file is deleted once its import succeeds

    detail = client.get(api_url(tenant_a, "api-import-detail", pk=job_id)).json()
    assert detail["status"] == "succeeded" and detail["progress"] == 100
    assert detail["created"]["invoice_lines"] == 3 and detail["created"]["customers"] == 2
    assert detail["errors"] == [] and detail["error_count"] == 0
    assert detail["kind"] == "invoice_lines" and detail["filename"] == "lines.csv"
    listed = client.get(api_url(tenant_a)).json()
    assert [j["id"] for j in listed["results"]] == [job_id]
    assert listed["count"] == 1 and listed["next"] is None  # paginated as every list
    assert client.get(api_url(tenant_a), {"page": 2}).status_code == 404  # past the end, as every list


def test_api_reports_errors_and_serves_them_as_csv(tenant_a, django_capture_on_commit_callbacks):
    client = api_as(tenant_a.manager)
    mapping = json.dumps({"revenue": "revenue"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            api_url(tenant_a),
            {"kind": "invoice_lines", "file": upload(LINES.replace("100.50", "lots")), "mapping": mapping},
        )
    job_id = response.json()["id"]
    detail = client.get(api_url(tenant_a, "api-import-detail", pk=job_id)).json()
    assert detail["status"] == "failed"
    assert detail["error_count"] == 1
    assert detail["errors"] == [{"row": 2, "column": "revenue", "value": "lots", "reason": "not a number"}]
    assert table_counts(tenant_a.distributor)["invoice_lines"] == 0
    for response in (
        client.get(api_url(tenant_a, "api-import-detail", pk=job_id) + "?format=csv"),
        client.get(api_url(tenant_a, "api-import-errors", pk=job_id)),
    ):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response.content.decode().splitlines() == ["row,column,value,reason", "2,revenue,lots,not a number"]


def test_api_validates_kind_mapping_and_size(tenant_a, settings, media):
    client = api_as(tenant_a.manager)
    response = client.post(api_url(tenant_a), {"kind": "orders", "file": upload(LINES)})
    assert response.status_code == 400 and "kind" in response.json()
    response = client.post(api_url(tenant_a), {"kind": "customers", "file": upload(LINES), "mapping": "{oops"})
    assert response.status_code == 400 and "mapping" in response.json()
    response = client.post(api_url(tenant_a), {"kind": "customers"})
    assert response.status_code == 400 and "file" in response.json()
    settings.IMPORT_MAX_BYTES = 20
    response = client.post(api_url(tenant_a), {"kind": "invoice_lines", "file": upload(LINES)})
    assert response.status_code == 413 and "import limit" in response.json()["detail"]
    assert not (Path(media) / "imports").exists() or not any((Path(media) / "imports").rglob("*.csv"))
    with scopes_disabled():
        assert not Job.objects.filter(distributor=tenant_a.distributor).exists()


def test_api_is_for_managers_of_the_tenant(tenant_a, tenant_b):
    with scopes_disabled():
        job = Job.objects.create(distributor=tenant_a.distributor, kind="import", params={"import_kind": "customers"})
    for user in (tenant_a.rep_user, tenant_a.customer_user):
        assert api_as(user).post(api_url(tenant_a), {"kind": "customers", "file": upload("x")}).status_code == 403
        assert api_as(user).get(api_url(tenant_a, "api-import-detail", pk=job.number)).status_code == 403
    assert api_as(tenant_b.manager).get(api_url(tenant_a, "api-import-detail", pk=job.number)).status_code == 404
    # B's manager on B's own URL naming A's job: 404 as well.
    assert api_as(tenant_b.manager).get(api_url(tenant_b, "api-import-detail", pk=job.number)).status_code == 404
    assert api_as(tenant_b.manager).get(api_url(tenant_b, "api-import-errors", pk=job.number)).status_code == 404


# --- pages: upload -> mapping -> start -> progress -------------------------------------------------


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.skipif(not SUPERSTORE.exists(), reason="sample data not present")
def test_superstore_through_the_mapping_step(tenant_a, django_capture_on_commit_callbacks):
    client = page_client(tenant_a.manager)
    list_url = reverse("import-list", kwargs={"tenant": tenant_a.slug})
    assert "Import data" in client.get(reverse("job-list", kwargs={"tenant": tenant_a.slug})).content.decode()
    with SUPERSTORE.open("rb") as fh:
        response = client.post(list_url, {"kind": "invoice_lines", "file": fh})
    assert response.status_code == 302
    preview_url = response["Location"]

    page = client.get(preview_url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "cp1252" in html  # detected Windows-1252
    assert "Required columns not found: <strong>cost</strong>" in html
    assert 'name="map_invoice_id" id="id_map_invoice_id" value="Order ID"' in html
    assert 'name="map_revenue" id="id_map_revenue" value="Sales"' in html
    assert 'name="map_category" id="id_map_category" value="Category"' in html  # detected; corrected below
    assert "CA-2016-152156" in html and "Claire Gute" in html  # the first rows

    form = {f"map_{name}": source for name, source in SUPERSTORE_MAPPING.items()}
    form["date_format"] = "%m/%d/%Y"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(preview_url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    detail = client.get(response["Location"])
    html = detail.content.decode()
    assert 'data-status="succeeded"' in html
    assert "9,994 created" in html
    with scopes_disabled():
        assert InvoiceLine.objects.filter(distributor=tenant_a.distributor).count() == 9994
        assert Product.objects.get(distributor=tenant_a.distributor, product_id="FUR-BO-10001798").category == (
            "Bookcases"
        )
        remembered = ColumnMapping.objects.get(distributor=tenant_a.distributor, kind="invoice_lines")
        assert remembered.mapping["cost"] == "Sales - Profit" and remembered.date_format == "%m/%d/%Y"

    listing = client.get(list_url).content.decode()
    assert "<td >Invoice lines</td>" in listing and ">invoice_lines<" not in listing  # the kind in words
    # The next upload of the same kind starts from the remembered mapping.
    with SUPERSTORE.open("rb") as fh:
        preview_url = client.post(list_url, {"kind": "invoice_lines", "file": fh})["Location"]
    html = client.get(preview_url).content.decode()
    assert 'name="map_cost" id="id_map_cost" value="Sales - Profit"' in html
    assert 'name="map_category" id="id_map_category" value="Sub-Category"' in html
    assert 'value="%m/%d/%Y"' in html


def test_failed_import_page_lists_errors_and_links_the_csv(tenant_a, django_capture_on_commit_callbacks):
    client = page_client(tenant_a.manager)
    response = client.post(
        reverse("import-list", kwargs={"tenant": tenant_a.slug}),
        {"kind": "invoice_lines", "file": upload(LINES.replace("2024-02-10", "10 Feb"))},
    )
    with django_capture_on_commit_callbacks(execute=True):
        columns = LINES.splitlines()[0].split(",")
        response = client.post(response["Location"], {"date_format": ""} | {f"map_{c}": c for c in columns})
    detail_url = response["Location"]
    html = client.get(detail_url).content.decode()
    assert 'data-status="failed"' in html
    assert "1 error — nothing was imported" in html
    assert "<code>10 Feb</code>" in html and "not a date (expected YYYY-MM-DD)" in html
    csv_url = reverse(
        "import-errors-csv", kwargs={"tenant": tenant_a.slug, "pk": int(detail_url.rstrip("/").split("/")[-1])}
    )
    assert csv_url in html
    assert (
        client.get(csv_url).content.decode().splitlines()[1] == "4,invoice_date,10 Feb,not a date (expected YYYY-MM-DD)"
    )
    # htmx polls the status fragment only
    fragment = client.get(detail_url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="import-status"')


def test_unreadable_upload_shows_one_clear_message(tenant_a):
    client = page_client(tenant_a.manager)
    response = client.post(
        reverse("import-list", kwargs={"tenant": tenant_a.slug}),
        {"kind": "customers", "file": upload(b"\x89PNG\r\n\x1a\n\x00\x00", name="logo.png")},
    )
    html = client.get(response["Location"]).content.decode()
    assert "it looks like a PNG image" in html
    assert 'id="mapping-form"' not in html


def test_upload_over_the_limit_is_refused_on_the_form(tenant_a, settings):
    settings.IMPORT_MAX_BYTES = 10
    client = page_client(tenant_a.manager)
    response = client.post(
        reverse("import-list", kwargs={"tenant": tenant_a.slug}), {"kind": "customers", "file": upload(LINES)}
    )
    assert response.status_code == 413
    assert "over the 0.0 MB import limit" in response.content.decode()


def test_upload_of_another_tenant_is_not_found(tenant_a, tenant_b):
    client = page_client(tenant_a.manager)
    response = client.post(
        reverse("import-list", kwargs={"tenant": tenant_a.slug}),
        {"kind": "customers", "file": upload("customer_id,name\n")},
    )
    upload_id = response["Location"].rstrip("/").split("/")[-1]
    other = page_client(tenant_b.manager)
    assert (
        other.get(reverse("import-preview", kwargs={"tenant": tenant_b.slug, "upload": upload_id})).status_code == 404
    )
    assert other.get(f"/{tenant_b.slug}/imports/new/..%2F..%2Falpha/").status_code == 404
    assert other.get(f"/{tenant_b.slug}/imports/new/not-an-upload/").status_code == 404


def test_a_mapping_that_cannot_work_is_refused_on_the_mapping_step(tenant_a):
    client = page_client(tenant_a.manager)
    response = client.post(
        reverse("import-list", kwargs={"tenant": tenant_a.slug}), {"kind": "invoice_lines", "file": upload(LINES)}
    )
    columns = LINES.splitlines()[0].split(",")
    form = {f"map_{c}": c for c in columns} | {"map_cost": "revenue - margin", "date_format": ""}
    response = client.post(response["Location"], form)
    assert response.status_code == 200
    assert "names &#x27;margin&#x27;, which is not a column of the file" in response.content.decode()
    with scopes_disabled():
        assert not Job.objects.filter(distributor=tenant_a.distributor).exists()
