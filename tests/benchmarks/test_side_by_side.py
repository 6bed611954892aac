"""Issue 16, item 4: segments and categories side by side, core first, read from the run's profit
centers (hand-made rows): the page's and the export's figures are the stored ones, in the right
columns; managers only."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from segments.models import ProfitCenter
from tests.pages.conftest import login

from .data import build

pytestmark = pytest.mark.django_db


def pc(run, dimension, value, position, revenue, net_profit, by="", by_value=""):
    return ProfitCenter(
        distributor=run.distributor,
        run=run,
        dimension=dimension,
        by=by,
        value=value,
        by_value=by_value,
        position=position,
        customers=3,
        lines=7,
        revenue=Decimal(revenue),
        gross_margin=Decimal(revenue) / 2,
        cost_to_serve=Decimal(revenue) / 2 - Decimal(net_profit),
        net_profit=Decimal(net_profit),
        net_margin_pct=float(Decimal(net_profit) / Decimal(revenue)),
        net_profit_share=0.5,
    )


def test_segments_and_categories_side_by_side(tenant_a):
    run, _customers, _ = build(tenant_a)
    with scopes_disabled():
        ProfitCenter.objects.bulk_create(
            [
                pc(run, "segment", "marginal", 4, "100.00", "-50.00"),
                pc(run, "segment", "core", 1, "9000.00", "3000.00"),
                pc(run, "segment", "opportunistic", 2, "800.00", "200.00"),
                pc(run, "segment", "service_drain", 3, "5000.00", "-100.00"),
                pc(run, "category", "Pipe", 1, "6000.00", "2000.00"),
                pc(run, "category", "", 2, "900.00", "-10.00"),
                pc(run, "category", "Pipe", 1, "5000.00", "1900.00", by="segment", by_value="core"),
                pc(run, "category", "Pipe", 1, "1000.00", "100.00", by="segment", by_value="marginal"),
                pc(run, "category", "", 2, "900.00", "-10.00", by="segment", by_value="service_drain"),
            ]
        )
    client = login(tenant_a.manager)
    url = reverse("benchmark-segments", kwargs={"tenant": tenant_a.slug})
    page = client.get(url)
    assert page.status_code == 200
    segments = page.context["segments"]
    assert [c[0] for c in segments["columns"]] == ["core", "opportunistic", "service_drain", "marginal"]
    net = next(r for r in segments["rows"] if r["key"] == "net_profit")["cells"]
    assert net == [Decimal("3000.00"), Decimal("200.00"), Decimal("-100.00"), Decimal("-50.00")]
    rows = list(csv.reader(io.StringIO(client.get(url, {"export": "csv"}).content.decode("utf-8-sig"))))
    header = rows[0]
    assert header[1].startswith("Core: revenue") and header[-3].startswith("Total: revenue")
    pipe = dict(zip(header, rows[1], strict=True))
    assert pipe["Category"] == "Pipe"
    assert pipe["Core: net profit (USD)"] == "1900.00" and pipe["Marginal: net profit (USD)"] == "100.00"
    assert pipe["Opportunistic: net profit (USD)"] == "" and pipe["Total: net profit (USD)"] == "2000.00"
    none = dict(zip(header, rows[2], strict=True))
    assert none["Category"] == "(none)" and none["Service drain: revenue (USD)"] == "900.00"
    assert login(tenant_a.rep_user).get(url).status_code == 403
