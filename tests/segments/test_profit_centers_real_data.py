"""Profit centers on real data nobody here made up (Tableau's Superstore, ../shared/data): imported
through the command with the README's mapping, stratified with delivery rates, every dimension's
stored figures and the `export_profit_centers` file compared to the cent with the naive reference
(tests/segments/profit_reference.py), and every dimension adding up to the run's totals."""

from __future__ import annotations

import csv
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled

from segments import services
from segments.models import StratificationRun
from stratify.jobs.services import job_execute
from tests.factories import DistributorFactory
from tests.imports.test_pipeline import SUPERSTORE, SUPERSTORE_MAPPING
from tests.segments import profit_reference as ref
from tests.segments.helpers import run_profit_centers
from tests.segments.test_profit_centers import assert_adds_up, assert_agrees

SETTINGS = {
    "delivery_cost": {"Standard Class": "11.50", "Second Class": "17.25", "First Class": "31.10"},
    "default_delivery_cost": "45.00",
    "cost_per_order": "18.40",
    "cost_per_line": "2.15",
    "ar_carrying_rate": "0.09",
}


@pytest.fixture
def superstore_run(db):
    tenant = DistributorFactory(slug="superstore")
    call_command(
        "import_data",
        tenant.slug,
        "invoice_lines",
        str(SUPERSTORE),
        "--mapping",
        json.dumps(SUPERSTORE_MAPPING),
        "--date-format",
        "%m/%d/%Y",
    )
    with scope(distributor=tenant):
        services.settings_update(distributor=tenant, settings=SETTINGS, actor=None, partial=True)
        run = services.run_request(distributor=tenant, dispatch=False, publish=True)
    job_execute(run.job_id)
    run_profit_centers(run)
    with scopes_disabled():
        run.refresh_from_db()
    assert run.status == StratificationRun.Status.SUCCEEDED, run.message
    return tenant, run


def test_superstore_profit_centers_and_export_agree_with_the_naive_implementation(superstore_run, tmp_path):
    tenant, run = superstore_run
    lines, segments = assert_agrees(run, tenant, SETTINGS)
    assert_adds_up(run)
    for dimension in ("category", "brand", "product", "branch", "ship_method", "customer_class", "segment"):
        path = tmp_path / f"{dimension}.csv"
        call_command("export_profit_centers", tenant.slug, "latest", str(path), "--dimension", dimension)
        with open(path, newline="") as handle:
            rows = {r["value"]: r for r in csv.DictReader(handle)}
        want = ref.figures(lines, segments, dimension, run.as_of, SETTINGS)
        assert set(rows) == set(want), dimension
        for value, w in want.items():
            r = rows[value]
            assert (int(r["customers"]), int(r["lines"])) == (w["customers"], w["lines"]), (dimension, value)
            for name in ("revenue", "gross_margin", "cost_to_serve", "net_profit"):
                assert Decimal(r[name]) == ref.cents(w[name]), (dimension, value, name)
            for segment in ref.SEGMENT_NAMES:
                assert Decimal(r[f"net_profit_{segment}"]) == ref.cents(w[f"net_profit_{segment}"])
