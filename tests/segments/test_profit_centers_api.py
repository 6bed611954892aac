"""The profit centers' API and `export_profit_centers`: rows with every figure (money as decimal
strings to the cent), the matrix, bad input (400 naming the dimensions, 409 for an unfinished run),
and isolation (another tenant's run: 404; a rep or a customer user: 403)."""

from __future__ import annotations

import csv
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from segments import services
from segments.models import ProfitCenter, StratificationRun
from segments.profit_centers import DIMENSIONS, EXPORT_COLUMNS
from stratify.jobs.services import job_execute
from tests.conftest import api_as
from tests.segments import profit_reference as ref
from tests.segments.helpers import make_catalog, run_profit_centers, simple_lines, write_lines
from tests.segments.test_profit_centers import reference_lines, segments_of


def run_and_publish(distributor) -> StratificationRun:
    with scope(distributor=distributor):
        run = services.run_request(distributor=distributor, dispatch=False, publish=True)
    job_execute(run.job_id)
    run_profit_centers(run)
    with scopes_disabled():
        run.refresh_from_db()
    assert run.status == "succeeded", run.message
    return run


@pytest.fixture
def published(tenant_a):
    customers, products = make_catalog(tenant_a.distributor)
    write_lines(tenant_a.distributor, simple_lines(customers, products))
    return tenant_a, run_and_publish(tenant_a.distributor)


def url(tenant, run, **query):
    base = reverse("api-run-profit-centers", kwargs={"tenant": tenant.slug, "pk": run.number})
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_api_answers_every_figure_as_decimal_strings(published):
    tenant, run = published
    client = api_as(tenant.manager)
    body = client.get(url(tenant, run, dimension="category")).json()
    rows = body["results"]
    assert [r["value"] for r in rows][:1] and set(rows[0]) == set(EXPORT_COLUMNS)
    with scopes_disabled():
        stored = {r.value or "(none)": r for r in ProfitCenter.objects.filter(run=run, dimension="category", by="")}
    assert {r["value"] for r in rows} == set(stored) and "(none)" in stored
    for r in rows:
        assert r["net_profit"] == f"{stored[r['value']].net_profit:.2f}"
        assert Decimal(r["revenue"]).as_tuple().exponent == -2
    # By net profit, highest first.
    profits = [Decimal(r["net_profit"]) for r in rows]
    assert profits == sorted(profits, reverse=True)
    matrix = client.get(url(tenant, run, dimension="category", by="segment")).json()["results"]
    assert {r["by"] for r in matrix} == {"segment"} and {r["by_value"] for r in matrix} <= set(ref.SEGMENT_NAMES)
    branch = client.get(url(tenant, run, dimension="branch", by="category"))
    assert branch.status_code == 200


def test_unknown_dimension_is_a_400_naming_the_allowed_ones(published):
    tenant, run = published
    response = api_as(tenant.manager).get(url(tenant, run, dimension="colour"))
    assert response.status_code == 400
    assert "colour" in response.json()["detail"] and all(d in response.json()["detail"] for d in DIMENSIONS)
    response = api_as(tenant.manager).get(url(tenant, run, dimension="category", by="brand"))
    assert response.status_code == 400 and "segment" in response.json()["detail"]


def test_unfinished_run_is_a_409_with_its_status(published):
    tenant, run = published
    with scope(distributor=tenant.distributor):
        queued = services.run_request(distributor=tenant.distributor, dispatch=False)
    response = api_as(tenant.manager).get(url(tenant, queued))
    assert response.status_code == 409 and response.json()["status"] == "queued"


def test_isolation(published, tenant_b):
    tenant, run = published
    assert api_as(tenant.rep_user).get(url(tenant, run)).status_code == 403
    assert api_as(tenant.customer_user).get(url(tenant, run)).status_code == 403
    assert api_as(tenant_b.manager).get(url(tenant, run)).status_code == 404
    # B's manager on B's own URL naming A's run number: B has no such run.
    assert api_as(tenant_b.manager).get(url(tenant_b, run)).status_code == 404


def test_export_command_writes_the_columns_to_the_cent(published, tmp_path):
    tenant, run = published
    path = tmp_path / "pc.csv"
    call_command("export_profit_centers", tenant.slug, "latest", str(path), "--dimension", "category")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "value",
        "customers",
        "lines",
        "revenue",
        "gross_margin",
        "cost_to_serve",
        "net_profit",
        "net_margin_pct",
        "net_profit_share",
        "net_profit_core",
        "net_profit_service_drain",
        "net_profit_opportunistic",
        "net_profit_marginal",
    ]
    want = ref.figures(reference_lines(tenant.distributor), segments_of(run), "category", run.as_of)
    assert {r["value"] for r in rows} == set(want) and "(none)" in want
    total = sum((w["net_profit"] for w in want.values()), Fraction(0))
    for r in rows:
        w = want[r["value"]]
        assert int(r["customers"]) == w["customers"] and int(r["lines"]) == w["lines"]
        for name in ("revenue", "gross_margin", "cost_to_serve", "net_profit"):
            assert Decimal(r[name]) == ref.cents(w[name]) and len(r[name].split(".")[1]) == 2, name
        for segment in ref.SEGMENT_NAMES:
            assert Decimal(r[f"net_profit_{segment}"]) == ref.cents(w[f"net_profit_{segment}"])
        if w["revenue"] > 0:
            assert float(r["net_margin_pct"]) == pytest.approx(float(w["net_profit"] / w["revenue"]), rel=1e-9)
        if total > 0:
            assert float(r["net_profit_share"]) == pytest.approx(float(w["net_profit"] / total), rel=1e-9)
    by_number = tmp_path / "pc2.csv"
    call_command("export_profit_centers", tenant.slug, str(run.number), str(by_number), "--dimension", "segment")
    assert by_number.read_text().startswith("value,customers")
    with pytest.raises(Exception, match="colour"):
        call_command("export_profit_centers", tenant.slug, "latest", str(by_number), "--dimension", "colour")


def test_export_command_computes_profit_centers_no_worker_computed_yet(tenant_a, tmp_path):
    """A run whose profit-centers job is still queued (no worker ran it): the export computes them
    here first, with the same figures the job writes."""
    customers, products = make_catalog(tenant_a.distributor)
    write_lines(tenant_a.distributor, simple_lines(customers, products))
    with scope(distributor=tenant_a.distributor):
        run = services.run_request(distributor=tenant_a.distributor, dispatch=False, publish=True)
    job_execute(run.job_id)
    with scopes_disabled():
        assert not ProfitCenter.objects.filter(run=run).exists()
    path = tmp_path / "pc.csv"
    call_command("export_profit_centers", tenant_a.slug, "latest", str(path), "--dimension", "category")
    with open(path, newline="") as handle:
        exported = {row["value"]: row["net_profit"] for row in csv.DictReader(handle)}
    with scopes_disabled():
        run.refresh_from_db()
        rows = ProfitCenter.objects.filter(run=run, dimension="category", by="")
        stored = {r.value or "(none)": f"{r.net_profit:.2f}" for r in rows}
    assert exported == stored and len(exported) > 1
    lines, segments = reference_lines(tenant_a.distributor), segments_of(run)
    want = ref.figures(lines, segments, "category", run.as_of, None)
    assert exported == {value: str(ref.cents(w["net_profit"])) for value, w in want.items()}
