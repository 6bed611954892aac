"""The operations API: the cut-impact endpoint's exact shape and sums (recomputed from the lines), 400s
naming unknown values, saved scenarios and their comparison, the lists and their bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from operations.models import CutScenario
from segments.models import TierPolicyChange
from tests.conftest import api_as
from tests.operations.test_figures import naive_cut

pytestmark = pytest.mark.django_db


def url(t, name, **kwargs):
    return reverse(name, kwargs={"tenant": t.slug, **kwargs})


def test_cut_impact_endpoint_returns_the_core_customers_and_their_sums(data):
    t = data.tenant
    client = api_as(t.manager)
    response = client.get(f"/api/v1/tenants/{t.slug}/operations/cut-impact/?supplier=S1&brand=Bolt&product=P05")
    assert response.status_code == 200, response.content
    body = response.json()
    from operations.selectors import CutChoice

    expected = naive_cut(data, CutChoice(supplier=["S1"], brand=["Bolt"], product=["P05"]))
    core = {pk: v for pk, v in expected.items() if data.segment[pk] == "core"}
    erp = {c.pk: c.customer_id for c in data.customers}
    assert body["core_customers"] == sorted(erp[pk] for pk in core)
    assert body["revenue"] == str(sum(v["revenue"] for v in core.values()).quantize(Decimal("0.01")))
    assert body["gross_margin"] == str(sum(v["gm"] for v in core.values()).quantize(Decimal("0.01")))
    rows = {r["customer_id"]: r for r in body["customers"]}
    assert set(rows) == set(body["core_customers"])
    for pk, v in core.items():
        assert rows[erp[pk]]["revenue"] == str(v["revenue"].quantize(Decimal("0.01")))
        assert rows[erp[pk]]["share"] == pytest.approx(v["share"])
    assert (
        isinstance(body["revenue"], str) and body["revenue"].count(".") == 1 and len(body["revenue"].split(".")[1]) == 2
    )


def test_cut_impact_names_unknown_values(data):
    t = data.tenant
    client = api_as(t.manager)
    response = client.get(url(t, "api-ops-cut-impact") + "?supplier=S1&supplier=NOPE&product=ZZ9&brand=Nada")
    assert response.status_code == 400
    body = response.json()
    assert "NOPE" in body["supplier"] and "ZZ9" in body["product"] and "Nada" in body["brand"]
    assert "NOPE" in body["detail"] or "Nada" in body["detail"] or "ZZ9" in body["detail"]
    response = client.get(url(t, "api-ops-cut-impact"))
    assert response.status_code == 400 and "at least one" in response.json()["detail"]


def test_cut_impact_before_a_published_run_is_409(tenant_a):
    client = api_as(tenant_a.manager)
    response = client.get(url(tenant_a, "api-ops-cut-impact") + f"?product={tenant_a.product.product_id}")
    assert response.status_code == 409


def test_scenarios_save_compare_delete(data):
    t = data.tenant
    client = api_as(t.manager)
    first = client.post(url(t, "api-ops-scenarios"), {"name": "Drop S1", "supplier": ["S1"]}, format="json")
    assert first.status_code == 201, first.content
    second = client.post(url(t, "api-ops-scenarios"), {"name": "Drop Bolt", "brand": ["Bolt"]}, format="json")
    bad = client.post(url(t, "api-ops-scenarios"), {"name": "Oops", "supplier": ["S9"]}, format="json")
    assert bad.status_code == 400 and "S9" in bad.json()["supplier"]
    listed = client.get(url(t, "api-ops-scenarios")).json()
    assert [s["name"] for s in listed] == ["Drop Bolt", "Drop S1"]
    a, b = first.json()["id"], second.json()["id"]
    detail = client.get(url(t, "api-ops-scenario", scenario_id=a)).json()
    direct = client.get(url(t, "api-ops-cut-impact") + "?supplier=S1").json()
    assert detail["impact"]["revenue"] == direct["revenue"]
    compared = client.get(url(t, "api-ops-compare") + f"?first={a}&second={b}").json()
    assert compared["first"]["impact"]["core_customers"] == direct["core_customers"]
    assert compared["both"] == sorted(
        set(compared["first"]["impact"]["core_customers"]) & set(compared["second"]["impact"]["core_customers"])
    )
    assert client.get(url(t, "api-ops-compare") + f"?first={a}&second=999999").status_code == 400
    assert client.delete(url(t, "api-ops-scenario", scenario_id=a)).status_code == 204
    with scopes_disabled():
        assert list(CutScenario.objects.values_list("name", flat=True)) == ["Drop Bolt"]


def test_lists_and_their_bad_input(data):
    t = data.tenant
    client = api_as(t.manager)
    demand = client.get(url(t, "api-ops-core-demand") + "?dimension=category&page_size=2").json()
    assert demand["count"] == 4 and len(demand["results"]) == 2
    bad = client.get(url(t, "api-ops-core-demand") + "?dimension=colour")
    assert bad.status_code == 400 and bad.json()["allowed"] == ["product", "category", "brand", "supplier"]
    assert client.get(url(t, "api-ops-stock") + "?list=maybe").status_code == 400
    assert client.get(url(t, "api-ops-stock") + "?list=to_drop").json()["count"] >= 1
    scarce = client.get(url(t, "api-ops-scarce-stock")).json()
    assert scarce["has_inventory"] and scarce["products"]
    allocation = client.get(url(t, "api-ops-allocation")).json()["results"]
    assert allocation[0]["segment"] == "core"
    deliveries = client.get(url(t, "api-ops-deliveries")).json()
    assert deliveries["consolidation"]["saved_deliveries"] > 0
    assert client.get(url(t, "api-ops-lookalikes")).json()["count"] >= 1


def test_settings_and_consolidation_into_the_tier_policy(data):
    t = data.tenant
    client = api_as(t.manager)
    assert client.get(url(t, "api-ops-settings")).json()["stock_min_orders"] == 3
    bad = client.patch(url(t, "api-ops-settings"), {"stock_min_orders": 0, "colour": 1}, format="json")
    assert bad.status_code == 400 and "colour" in bad.json() and "stock_min_orders" in bad.json()
    ok = client.patch(url(t, "api-ops-settings"), {"stock_min_orders": 1}, format="json")
    assert ok.status_code == 200 and ok.json()["stock_min_orders"] == 1
    with scopes_disabled():
        from segments.services.policies import policies_create_defaults

        policies_create_defaults(distributor=t.distributor)
    response = client.post(url(t, "api-ops-consolidate"))
    assert response.status_code == 200, response.content
    assert response.json()["playbook_line"].startswith("Deliveries: consolidate to at most 1 a week")
    assert response.json()["changed"] is True
    with scopes_disabled():
        changes = TierPolicyChange.objects.filter(distributor=t.distributor, policy__segment="marginal")
        assert changes.count() == 1
    again = client.post(url(t, "api-ops-consolidate")).json()
    assert again["changed"] is False and again["playbook_line"] == response.json()["playbook_line"]
    with scopes_disabled():
        assert changes.count() == 1  # nothing written, nothing audited


def test_the_cut_body_is_the_plain_result(data):
    """The customers' rows take a faster path to JSON (`plain_row`): the same text as `plain`."""
    from operations import selectors as ops
    from operations.api import impact_body, plain

    with scopes_disabled():
        result = ops.cut_impact(
            distributor=data.tenant.distributor, run=data.run, choice=ops.CutChoice(supplier=["S1"])
        )
    assert result["customers"]
    assert impact_body(result) == plain(result)
