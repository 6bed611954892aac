"""The Channels pages (issue 14): the map page, partners (list, page, a manager's edit), customer
definitions (side by side and one category, against naive counts), the Interactions page (filters,
search of the usage notes, export, counts per kind and segment) and their API endpoints."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from channels.models import Interaction, Partner
from sales.models import Customer, InvoiceLine, Product
from segments.models import CustomerScore
from stratify.formatting import format_money, format_percent
from tests.conftest import api_as

from .test_channel_map import build, naive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(tenant, name, **kwargs):
    return reverse(name, kwargs={"tenant": tenant.slug, **kwargs})


@pytest.fixture
def built(tenant_a):
    run, rows = build(tenant_a.distributor)
    return tenant_a, run, rows


def test_map_page_embeds_the_api_body_and_the_vendored_library(built):
    tenant, run, rows = built
    response = login(tenant.manager).get(url(tenant, "channel-map"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "vendor/echarts/echarts.min.js" in html and 'id="channel-map-data"' in html
    assert "Resell Co" in html and "buying-table" in html
    assert not re.search(r'<script[^>]+src="(https?:)?//', html)  # nothing loads from the internet
    rep = login(tenant.rep_user).get(url(tenant, "channel-map"))
    assert rep.status_code == 200
    assert login(tenant.customer_user).get(url(tenant, "channel-map")).status_code == 403


def test_partner_list_and_page_show_what_flows_through_it(built):
    tenant, run, rows = built
    html = login(tenant.manager).get(url(tenant, "partner-list")).content.decode()
    assert "Resell Co" in html and "Fit Pros" in html
    links, _ = naive(tenant.distributor, run, rows)
    want = sum(w["revenue"] for (s, _t), w in links.items() if s == "route:partner:RS1")
    customers = set().union(*(w["customers"] for (s, _t), w in links.items() if s == "route:partner:RS1"))
    page = login(tenant.manager).get(url(tenant, "partner-detail", partner_id="RS1"))
    assert page.status_code == 200
    figures = page.context["figures"]
    from tests.segments import profit_reference as ref

    assert figures["revenue"] == ref.cents(want) and figures["customers"] == len(customers)
    assert page.context["profit"] is not None  # its row of the profit centers
    export = login(tenant.manager).get(url(tenant, "partner-list") + "?export=csv")
    rows_out = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows_out[0][:2] == ["Partner id", "Name"] and any(r[0] == "RS1" for r in rows_out)
    # The list shows the same revenue and customers as the partner's page (they were empty).
    exported = {r[0]: dict(zip(rows_out[0], r, strict=True)) for r in rows_out[1:]}
    assert Decimal(exported["RS1"]["Revenue (window)"]) == figures["revenue"]
    assert int(exported["RS1"]["Customers"]) == len(customers)
    assert format_money(figures["revenue"], tenant.distributor) in html


def test_a_manager_edits_a_partner_a_rep_cannot(built):
    tenant, *_ = built
    target = url(tenant, "partner-detail", partner_id="RS1")
    data = {"name": "Resell Co", "kind": "reseller", "region": "South", "services": "Stocks and resells our pipe"}
    assert login(tenant.rep_user).post(target, data).status_code == 403
    response = login(tenant.manager).post(target, data)
    assert response.status_code == 302
    with scopes_disabled():
        assert Partner.objects.get(distributor=tenant.distributor, partner_id="RS1").region == "South"
    bad = login(tenant.manager).post(target, {**data, "kind": "wizard"})
    assert bad.status_code == 400
    assert "wizard" in bad.content.decode()
    assert login(tenant.rep_user).get(target).status_code == 200


def test_definitions_side_by_side_and_one_category(built):
    tenant, run, rows = built
    with scopes_disabled():
        Customer.objects.filter(distributor=tenant.distributor, customer_class="oem").update(
            reasons_for_purchase="price; delivery speed"
        )
        Product.objects.filter(distributor=tenant.distributor).update(replacement_cycle_days=90)
    response = login(tenant.manager).get(url(tenant, "customer-definitions"))
    assert response.status_code == 200
    rows_shown = {r["key"]: r for r in response.context["overview"]["rows"]}
    # Shares are fractions of 1, shown as percentages (they were shown 100 times too small).
    html = response.content.decode()
    shares = [r["revenue_share"] for r in rows_shown.values() if r["revenue_share"]]
    assert shares and all(format_percent(share, tenant.distributor) in html for share in shares)
    assert abs(sum(shares) - 1) < 0.01
    links, _ = naive(tenant.distributor, run, rows)
    for key in ("contractor", "oem", "institution", "(none)"):
        want = [w for (_s, t), w in links.items() if t == f"customer_group:{key}"]
        assert rows_shown[key]["customers"] == len(set().union(*(w["customers"] for w in want)))
    detail = login(tenant.manager).get(url(tenant, "customer-definition", by="customer_class", value="oem"))
    assert detail.status_code == 200
    data = detail.context["data"]
    with scopes_disabled():
        scores = CustomerScore.objects.filter(run=run).exclude(segment="lapsed")
        active = set(scores.values_list("customer_id", flat=True))
        oems = set(
            Customer.objects.filter(distributor=tenant.distributor, customer_class="oem").values_list("pk", flat=True)
        )
    assert data["customers"] == len(active & oems)
    assert dict(data["reasons"]) == {"price": len(oems), "delivery speed": len(oems)}
    assert data["replacement"] and all(p["cycle_days"] == 90 for p in data["replacement"])
    # Each product's customers and those due, from the lines: the last kept line of every (active OEM,
    # product), due when it is at least the cycle (90 days) before the run's as_of + 30 days.
    with scopes_disabled():
        last: dict[tuple[int, str], object] = {}
        for line in InvoiceLine.objects.filter(
            distributor=tenant.distributor, customer__in=active & oems, quantity__gte=0, revenue__gte=0
        ).select_related("product"):
            key = (line.customer_id, line.product.product_id)
            last[key] = max(last.get(key, line.invoice_date), line.invoice_date)
    due_by = run.as_of + timedelta(days=30)
    for product in data["replacement"]:
        dates = [day for (_c, p), day in last.items() if p == product["product_id"]]
        assert product["customers"] == len(dates)
        assert product["due"] == sum(day + timedelta(days=90) <= due_by for day in dates)
    assert set(data["cost_per_thousand"]) == {"lines", "returns", "special_orders", "carrying", "orders", "deliveries"}
    role = login(tenant.manager).get(url(tenant, "customer-definition", by="supply_chain_role", value="(none)"))
    assert role.status_code == 200
    assert login(tenant.manager).get(url(tenant, "customer-definition", by="colour", value="x")).status_code == 404
    assert login(tenant.manager).get(url(tenant, "customer-definitions") + "?by=colour").status_code == 400
    api = api_as(tenant.manager).get(reverse("api-customer-definitions", kwargs={"tenant": tenant.slug}))
    assert api.status_code == 200 and {r["key"] for r in api.json()["rows"]} == set(rows_shown)
    one = api_as(tenant.manager).get(
        reverse("api-customer-definition", kwargs={"tenant": tenant.slug, "by": "customer_class", "value": "oem"})
    )
    assert one.status_code == 200 and Decimal(one.json()["revenue"]) == data["revenue"]


def test_interactions_page_filters_searches_exports_and_counts(built):
    tenant, run, rows = built
    with scopes_disabled():
        first = Interaction.objects.filter(distributor=tenant.distributor, natural_key="k0").get()
        first.usage_notes = "Uses our pipe for irrigation"
        first.save()
    page = login(tenant.manager).get(url(tenant, "interaction-list") + "?q=irrigation")
    assert page.status_code == 200
    assert [r.pk for r in page.context["page"]] == [first.pk]
    everything = login(tenant.manager).get(url(tenant, "interaction-list") + "?kind=call")
    with scopes_disabled():
        calls = Interaction.objects.filter(distributor=tenant.distributor, kind="call").count()
    assert len(everything.context["page"]) == calls
    counts = login(tenant.manager).get(url(tenant, "interaction-list")).context["counts"]
    with scopes_disabled():
        total = Interaction.objects.filter(distributor=tenant.distributor).count()
    assert sum(sum(row) for _k, row in counts["kind_pairs"]) == total
    assert sum(sum(row) for _c, row in counts["channel_pairs"]) == total
    export = login(tenant.manager).get(url(tenant, "interaction-list") + "?export=csv&opportunity=true")
    lines = list(csv.reader(io.StringIO(export.content.decode())))
    with scopes_disabled():
        want = Interaction.objects.filter(distributor=tenant.distributor, opportunity=True).count()
    assert len(lines) - 1 == want
    # A rep sees only their customers' interactions.
    rep_page = login(tenant.rep_user).get(url(tenant, "interaction-list"))
    with scopes_disabled():
        theirs = Interaction.objects.filter(distributor=tenant.distributor, customer__rep=tenant.rep).count()
    assert rep_page.context["page"].paginator.count == theirs
    assert login(tenant.customer_user).get(url(tenant, "interaction-list")).status_code == 403
    # From the customer page (its timeline is paginated there) to all its interactions.
    customer = first.customer
    detail = login(tenant.manager).get(url(tenant, "customer-detail", customer_id=customer.customer_id))
    assert f"?customer={customer.customer_id}" in detail.content.decode()
    theirs = login(tenant.manager).get(url(tenant, "interaction-list") + f"?customer={customer.customer_id}")
    with scopes_disabled():
        want = set(Interaction.objects.filter(customer=customer).values_list("pk", flat=True))
    assert {r.pk for r in theirs.context["page"]} == want


def test_interactions_name_their_rep(built):
    """The Rep column reads "R1 · Ann Lee" (the code alone when the rep has no name), on the page and
    in its export; the name is escaped like any text."""
    tenant, run, rows = built
    with scopes_disabled():
        first = Interaction.objects.filter(distributor=tenant.distributor, natural_key="k0").get()
        first.rep = tenant.rep
        first.save()
        tenant.rep.name = "Ann <b>Lee</b>"
        tenant.rep.save()
    mine = url(tenant, "interaction-list") + f"?customer={first.customer.customer_id}"
    html = login(tenant.manager).get(mine).content.decode()
    assert f"{tenant.rep.rep_id} · Ann &lt;b&gt;Lee&lt;/b&gt;" in html and "<b>Lee</b>" not in html
    export = login(tenant.manager).get(mine + "&export=csv")
    assert f"{tenant.rep.rep_id} · Ann <b>Lee</b>" in export.content.decode()


def test_ids_with_a_hash_or_a_question_mark_link_to_their_pages(built):
    """A partner `P#1` and a customer `C?2` (any text is an id): their links are percent-encoded, and
    open their pages (the links were cut at the # or ?: a 404)."""
    tenant, _run, _rows = built
    with scopes_disabled():
        Partner.objects.create(distributor=tenant.distributor, partner_id="P#1", name="Hash & Co", kind="dealer")
        customer = Customer.objects.get(distributor=tenant.distributor, customer_id="C000")
        customer.customer_id = "C?2"
        customer.save()
        Interaction.objects.create(
            distributor=tenant.distributor,
            customer=customer,
            date=date(2026, 1, 5),
            kind="call",
            natural_key="odd-id",
        )
    client = login(tenant.manager)
    partners = client.get(url(tenant, "partner-list")).content.decode()
    interactions = client.get(url(tenant, "interaction-list")).content.decode()
    partner_link = re.search(r'href="([^"]+)">P#1</a>', partners).group(1)
    customer_link = re.search(r'href="([^"]+)">C\?2</a>', interactions).group(1)
    assert partner_link.endswith("/P%231/") and customer_link.endswith("/C%3F2/")
    assert client.get(partner_link).status_code == 200 and "Hash &amp; Co" in client.get(partner_link).content.decode()
    assert client.get(customer_link).status_code == 200


def test_a_core_median_of_zero_is_shown_and_compared(built, monkeypatch):
    """ "Where cost could be cut": a core median of 0 (no core customer has that cost) is a figure,
    shown as $0.00 (it was "–"), and a category with any cost there is flagged (0 read as missing)."""
    from insights import definitions

    tenant, _run, _rows = built
    real = definitions.overview

    def zero_lines(**kwargs):
        result = real(**kwargs)
        return {**result, "core_median": {**result["core_median"], "lines": 0.0}}

    monkeypatch.setattr(definitions, "overview", zero_lines)
    detail = login(tenant.manager).get(url(tenant, "customer-definition", by="customer_class", value="oem"))
    html = detail.content.decode()
    table = html[html.index('id="definition-costs"') :]
    table = table[: table.index("</table>")]
    row = next(r for r in table.split("<tr") if "Order lines" in r)
    assert 'class="table-warning"' in row and "$0.00" in row
    assert detail.context["data"]["cost_per_thousand"]["lines"] > 0


def test_the_interactions_api_filters_by_customer_id_as_its_body_names_it(built):
    tenant, _run, _rows = built
    url_ = reverse("api-interaction-list", kwargs={"tenant": tenant.slug})
    api = api_as(tenant.manager)
    everything = api.get(url_).json()["count"]
    with scopes_disabled():
        customer_id = (
            Interaction.objects.filter(distributor=tenant.distributor)
            .select_related("customer")
            .first()
            .customer.customer_id
        )
        expected = Interaction.objects.filter(distributor=tenant.distributor, customer__customer_id=customer_id).count()
    for name in ("customer_id", "customer__customer_id"):
        body = api.get(url_, {name: customer_id}).json()
        assert body["count"] == expected < everything and {r["customer_id"] for r in body["results"]} == {customer_id}
