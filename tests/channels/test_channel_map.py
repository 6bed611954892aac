"""The channel map (issue 14): its figures against a naive line-by-line computation on hand-made data,
revenue conserved column to column, `(none)` nodes, grouping as "other", switches and filters, bad
input (400 naming the allowed values), a tenant without partners or channels, and who may see it."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.cache import cache
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from channels.models import Interaction, Partner
from sales.models import Customer
from segments import services
from segments.models import CustomerScore, StratificationRun
from stratify.jobs.services import job_execute
from tests.conftest import api_as
from tests.segments import profit_reference as ref
from tests.segments.helpers import AS_OF, make_catalog, run_profit_centers, simple_lines, write_lines

pytestmark = pytest.mark.django_db

CLASSES = ["contractor", "oem", "institution", ""]
ROLES = ["installer", "oem", "end_user", ""]
SUPPLIERS = ["SUP-A", "SUP-B", ""]  # SUP-A is a partner (named), SUP-B is not, "" has none
BRANCHES = ["Dallas", "Tulsa", ""]
CHANNELS = ["counter", "edi", "web", ""]


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def build(distributor, *, partners: bool = True, channels: bool = True, suppliers: bool = True, ships=None):
    """Hand-made data: 12 customers (the last lapsed) over 4 classes and roles, 6 products over 3
    suppliers, lines over 3 branches, 4 channels and 2 partners (a reseller and an installer);
    `ships`: the ship methods the lines take in turn (simple_lines' otherwise)."""
    customers, products = make_catalog(distributor)
    with scopes_disabled():
        for i, c in enumerate(customers):
            c.customer_class = CLASSES[i % 4]
            c.supply_chain_role = ROLES[(i + 1) % 4]
            c.save()
        for i, p in enumerate(products):
            p.supplier_id = SUPPLIERS[i % 3] if suppliers else ""
            p.save()
        Partner.objects.create(distributor=distributor, partner_id="SUP-A", name="Acme Valves", kind="supplier")
        reseller = Partner.objects.create(distributor=distributor, partner_id="RS1", name="Resell Co", kind="reseller")
        installer = Partner.objects.create(distributor=distributor, partner_id="IN1", name="Fit Pros", kind="installer")
        for i, c in enumerate(customers[:6]):
            Interaction.objects.create(
                distributor=distributor,
                customer=c,
                date=AS_OF,
                kind=["call", "visit", "quote"][i % 3],
                channel=["phone", "onsite"][i % 2],
                opportunity=i % 2 == 0,
                natural_key=f"k{i}",
            )
    rows = simple_lines(customers, products)
    for i, row in enumerate(rows):
        row["branch"] = BRANCHES[i % 3]
        row["channel"] = CHANNELS[(i // 2) % 4] if channels else ""
        row["partner"] = ([reseller, installer, None, None, None][i % 5]) if partners else None
        if ships:
            row["ship_method"] = ships[i % len(ships)]
    write_lines(distributor, rows)
    with scope(distributor=distributor):
        run = services.run_request(distributor=distributor, dispatch=False, publish=True)
    job_execute(run.job_id)
    run_profit_centers(run)
    with scopes_disabled():
        run.refresh_from_db()
    assert run.status == "succeeded", run.message
    return run, rows


def naive(distributor, run, rows, *, by="customer_class"):
    """Line by line with exact fractions: per link (source id, target id) the revenue, net profit
    (profit_reference's cost-to-serve), lines, customers; and the active customers' window revenue."""
    with scopes_disabled():
        segments = dict(
            CustomerScore.objects.filter(run=run).exclude(segment="lapsed").values_list("customer_id", "segment")
        )
        partners = {p.pk: p.partner_id for p in Partner.objects.filter(distributor=distributor)}
    lines = []
    for row in rows:
        c = row["customer"]
        lines.append(
            {
                **row,
                "customer_id": c.pk,
                "supplier": row["product"].supplier_id,
                "group": getattr(c, by),
                "partner_id": partners.get(row["partner"].pk) if row["partner"] else "",
            }
        )
    links = defaultdict(lambda: {"revenue": Fraction(0), "net_profit": Fraction(0), "lines": 0, "customers": set()})
    total = Fraction(0)
    for x, cost in ref.line_costs(lines, run.as_of, run.settings):
        if x["customer_id"] not in segments:
            continue
        route = f"partner:{x['partner_id']}" if x["partner_id"] else (f"channel:{x['channel']}" if x["channel"] else "")
        path = [
            f"supplier:{x['supplier'] or '(none)'}",
            f"branch:{x['branch'] or '(none)'}",
            f"route:{route or '(none)'}",
            f"customer_group:{x['group'] or '(none)'}",
        ]
        revenue = Fraction(str(x["revenue"]))
        total += revenue
        for source, target in zip(path, path[1:], strict=False):
            link = links[(source, target)]
            link["revenue"] += revenue
            link["net_profit"] += revenue - Fraction(str(x["cost"])) - cost
            link["lines"] += 1
            link["customers"].add(x["customer_id"])
    return links, total


def get_map(tenant, **query):
    url = reverse("api-channel-map", kwargs={"tenant": tenant.slug})
    return api_as(tenant.manager).get(url, query)


def test_links_match_a_naive_line_by_line_computation(tenant_a):
    run, rows = build(tenant_a.distributor)
    for by in ("customer_class", "supply_chain_role"):
        body = get_map(tenant_a, by=by, limit=100).json()
        want, total = naive(tenant_a.distributor, run, rows, by=by)
        got = {(link["source"], link["target"]): link for link in body["links"]}
        assert set(got) == set(want)
        for key, w in want.items():
            g = got[key]
            assert Decimal(g["revenue"]) == ref.cents(w["revenue"]), key
            assert g["revenue"].split(".")[1].__len__() == 2
            assert abs(Decimal(g["net_profit"]) - ref.cents(w["net_profit"])) <= Decimal("0.01"), key
            assert g["lines"] == w["lines"] and g["customers"] == len(w["customers"]), key
        assert Decimal(body["revenue"]) == ref.cents(total)
        kinds = {n["kind"] for n in body["nodes"]}
        assert kinds == {"supplier", "branch", "route", "customer_group"}
        labels = {n["id"]: n["label"] for n in body["nodes"]}
        assert labels["supplier:SUP-A"] == "Acme Valves" and labels["route:partner:RS1"] == "Resell Co"
        assert labels["supplier:(none)"] == "(none)" and labels["customer_group:(none)"] == "(none)"


def test_revenue_is_conserved_column_to_column(tenant_a):
    run, rows = build(tenant_a.distributor)
    _, total = naive(tenant_a.distributor, run, rows)
    for weight in ("revenue", "net_profit", "lines", "customers"):
        body = get_map(tenant_a, weight=weight, limit=2).json()  # with "other" nodes
        assert any(n.get("other") for n in body["nodes"])
        entering = [link for link in body["links"] if link["target"].startswith("customer_group:")]
        into_groups = sum(Decimal(link["revenue"]) for link in entering)
        # Each link is rounded to the cent: the exact total is within half a cent per link.
        n_links = len(entering)
        assert abs(into_groups - ref.cents(total)) <= Decimal("0.005") * n_links
        for node in body["nodes"]:
            if node["kind"] not in ("branch", "route"):
                continue
            inflow = sum(Fraction(link["revenue"]) for link in body["links"] if link["target"] == node["id"])
            outflow = sum(Fraction(link["revenue"]) for link in body["links"] if link["source"] == node["id"])
            n = sum(1 for link in body["links"] if node["id"] in (link["source"], link["target"]))
            assert abs(inflow - outflow) <= Fraction(n, 200), node["id"]
            assert abs(Fraction(node["revenue"]) - inflow) <= Fraction(n, 200)


def test_exact_conservation_in_units_before_rounding(tenant_a):
    """The unrounded sums (integer units of 1/10,000) conserve exactly, at every node."""
    from insights import channel_map

    run, _rows = build(tenant_a.distributor)
    with scope(distributor=tenant_a.distributor):
        result = channel_map.channel_map(
            distributor=tenant_a.distributor, run=run, by="customer_class", weight="revenue", limit=3, filters={}
        )
    links, nodes = result["links"], result["nodes"]
    total = sum(link["revenue_units"] for link in links if link["target"].startswith("customer_group:"))
    for node in nodes:
        inflow = sum(link["revenue_units"] for link in links if link["target"] == node["id"])
        outflow = sum(link["revenue_units"] for link in links if link["source"] == node["id"])
        if node["kind"] in ("branch", "route"):
            assert inflow == outflow == node["revenue_units"]
    assert total == sum(n["revenue_units"] for n in nodes if n["kind"] == "supplier")
    assert Decimal(total) / 10000 == result["revenue"]


def test_customer_groups_carry_preferred_buying_and_interaction_points(tenant_a):
    run, rows = build(tenant_a.distributor)
    body = get_map(tenant_a).json()
    groups = [n for n in body["nodes"] if n["kind"] == "customer_group"]
    contractor = next(n for n in groups if n["id"] == "customer_group:contractor")
    assert contractor["preferred_channel"][0] in {"counter", "edi", "web", "(none)"}
    assert 0 < contractor["preferred_channel"][1] <= 1
    assert sum(contractor["ship_methods"].values()) == pytest.approx(1, abs=1e-3)
    with scopes_disabled():
        contractors = set(
            Customer.objects.filter(distributor=tenant_a.distributor, customer_class="contractor").values_list(
                "pk", flat=True
            )
        )
        # Interaction points of the map are the active customers' (the fixture's own customers have no lines).
        contractors &= set(CustomerScore.objects.exclude(segment="lapsed").values_list("customer_id", flat=True))
        mine = Interaction.objects.filter(customer_id__in=contractors)
        want_kinds = defaultdict(int)
        for i in mine:
            want_kinds[i.kind] += 1
    assert contractor["interactions"]["by_kind"] == dict(want_kinds)
    assert contractor["interactions"]["count"] == mine.count()
    assert contractor["url"].endswith("/customers/?dimension=customer_class&value=contractor")
    assert contractor["definition_url"].endswith("/channels/definitions/customer_class/contractor/")
    # Lines through partners, by the partner's kind, against a count of the hand-made lines.
    assert set(contractor["through_partners"]) <= {"reseller", "installer"}
    assert sum(contractor["through_partners"].values()) == pytest.approx(contractor["partner_lines_share"], abs=2e-4)
    with scopes_disabled():
        active = set(
            CustomerScore.objects.filter(run=run).exclude(segment="lapsed").values_list("customer_id", flat=True)
        )
    window = [
        r
        for r in rows
        if r["customer"].customer_class == "contractor"
        and r["customer"].pk in active
        and 0 <= (run.as_of - r["invoice_date"]).days < 365
    ]
    installer = sum(1 for r in window if r["partner"] is not None and r["partner"].kind == "installer")
    assert contractor["through_partners"].get("installer", 0) == pytest.approx(installer / len(window), abs=1e-4)
    channels = defaultdict(int)
    for r in window:
        channels[r["channel"] or "(none)"] += 1
    leader = max(channels, key=lambda k: (channels[k], k))
    assert contractor["preferred_channel"][1] == pytest.approx(channels[leader] / len(window), abs=1e-4)


def test_filters_keep_only_their_flows(tenant_a):
    run, rows = build(tenant_a.distributor)
    body = get_map(tenant_a, branch="Dallas", limit=100).json()
    assert {n["id"] for n in body["nodes"] if n["kind"] == "branch"} == {"branch:Dallas"}
    links, _ = naive(tenant_a.distributor, run, rows)
    want = sum(w["revenue"] for (source, _t), w in links.items() if source == "branch:Dallas")
    assert Decimal(body["revenue"]) == ref.cents(want)
    body = get_map(tenant_a, customer_class="oem").json()
    assert {n["id"] for n in body["nodes"] if n["kind"] == "customer_group"} == {"customer_group:oem"}
    body = get_map(tenant_a, segment="core").json()
    assert all(link["core_share"] in (1.0, None) for link in body["links"])


@pytest.mark.parametrize(
    "query, words",
    [
        ({"by": "colour"}, ["colour", "customer_class", "supply_chain_role"]),
        ({"weight": "joy"}, ["joy", "revenue", "net_profit", "lines", "customers"]),
        ({"limit": "0"}, ["limit", "1", "100"]),
        ({"segment": "gold"}, ["gold", "core"]),
    ],
)
def test_bad_input_is_a_400_naming_the_allowed_values(tenant_a, query, words):
    build(tenant_a.distributor)
    response = get_map(tenant_a, **query)
    assert response.status_code == 400
    assert all(w in response.json()["detail"] for w in words)
    page = api_as(tenant_a.manager)
    page.force_login(tenant_a.manager)
    html = page.get(reverse("channel-map", kwargs={"tenant": tenant_a.slug}), query)
    assert html.status_code == 400 and words[0] in html.content.decode()


def test_no_partners_nor_channels_nor_suppliers_still_draws_branches_to_categories(tenant_a):
    build(tenant_a.distributor, partners=False, channels=False, suppliers=False)
    body = get_map(tenant_a).json()
    assert {n["kind"] for n in body["nodes"]} == {"branch", "customer_group"}
    assert all(link["source"].startswith("branch:") for link in body["links"])
    assert any("supplier_id" in note for note in body["notes"]) and any("channel" in note for note in body["notes"])
    page = api_as(tenant_a.manager)
    page.force_login(tenant_a.manager)
    html = page.get(reverse("channel-map", kwargs={"tenant": tenant_a.slug})).content.decode()
    assert "supplier_id" in html and "channel-map-data" in html


def test_before_a_published_run(tenant_a):
    assert get_map(tenant_a).status_code == 404
    page = api_as(tenant_a.manager)
    page.force_login(tenant_a.manager)
    response = page.get(reverse("channel-map", kwargs={"tenant": tenant_a.slug}))
    assert response.status_code == 200 and 'id="no-run"' in response.content.decode()


def test_the_map_is_cached_per_run(tenant_a, django_assert_max_num_queries):
    run, _ = build(tenant_a.distributor)
    assert get_map(tenant_a).status_code == 200
    client = api_as(tenant_a.manager)
    url = reverse("api-channel-map", kwargs={"tenant": tenant_a.slug})
    with django_assert_max_num_queries(6):  # auth, membership, profile/run: no flow query
        assert client.get(url).status_code == 200
    with scopes_disabled():
        assert StratificationRun.objects.filter(pk=run.pk).exists()


def test_who_sees_it(tenant_a, tenant_b):
    build(tenant_a.distributor)
    url = reverse("api-channel-map", kwargs={"tenant": tenant_a.slug})
    assert api_as(tenant_a.rep_user).get(url).status_code == 200
    assert api_as(tenant_a.customer_user).get(url).status_code == 403
    assert api_as(tenant_b.manager).get(url).status_code == 404
    # A rep's click on a category leads to the customers list, which shows only theirs.
    body = api_as(tenant_a.rep_user).get(url).json()
    branch = next(n for n in body["nodes"] if n["kind"] == "branch" and n["label"] == "Dallas")
    assert "/customers/?" in branch["url"]


def test_flows_below_zero_are_marked_counted_and_named_not_silently_dropped(tenant_a):
    """A Sankey cannot draw a negative width: a loss-making flow is drawn as a hairline (value 0), but
    it keeps its signed figure, is marked `below_zero`, and `left_out` counts it and sums it per pair
    of columns; the page says so under the drawing, in the tenant's currency, and lists the flows."""
    run, rows = build(tenant_a.distributor)
    body = get_map(tenant_a, weight="net_profit", limit=100).json()
    want, _ = naive(tenant_a.distributor, run, rows)
    losing = {key for key, w in want.items() if w["net_profit"] < 0}
    assert losing, "the hand-made data has loss-making flows"
    got = {(link["source"], link["target"]): link for link in body["links"]}
    for key, link in got.items():
        assert link["below_zero"] == (Decimal(link["net_profit"]) < 0), key
        if link["below_zero"]:
            assert link["value"] == 0 and Decimal(link["net_profit"]) < 0
    assert {key for key, link in got.items() if link["below_zero"]} == losing
    stages = {(s["source"], s["target"]): s for s in body["left_out"]}
    for (source, target), stage in stages.items():
        mine = [k for k in losing if k[0].startswith(source + ":") and k[1].startswith(target + ":")]
        assert stage["flows"] == len(mine)
        assert Decimal(stage["amount"]) == sum(Decimal(got[k]["net_profit"]) for k in mine)
    assert sum(s["flows"] for s in body["left_out"]) == len(losing)
    # Revenue: only the flows whose returns outweigh their sales (none here) would be left out.
    revenue = get_map(tenant_a, weight="revenue", limit=100).json()
    assert revenue["left_out"] == [] or all(Decimal(s["amount"]) < 0 for s in revenue["left_out"])
    assert all(link["below_zero"] == (Decimal(link["revenue"]) < 0) for link in revenue["links"])

    page = api_as(tenant_a.manager)
    page.force_login(tenant_a.manager)
    url = reverse("channel-map", kwargs={"tenant": tenant_a.slug})
    html = page.get(url, {"weight": "net_profit", "limit": 100}).content.decode()
    assert 'id="left-out-note"' in html
    assert f"{len(losing)} of {len(got)} flows lose money" in html
    worst = min(Decimal(s["amount"]) for s in body["left_out"])
    assert f"-${-worst:,.2f}" in html
    assert html.count("<tr><td>") >= len(losing)  # the flows left out, listed with their figures
    assert "red hairlines" in html
    # With the lines as weight nothing is below zero: no note.
    html = page.get(url, {"weight": "lines"}).content.decode()
    assert 'id="left-out-note"' not in html


def test_without_channel_data_no_leading_channel_is_claimed(tenant_a):
    """When no line has a channel or a partner, the map, its table and the customer definitions say
    nothing of a leading channel (they said "via (none) 100%" and "(none) (100.0%)" right under the
    note that no line has one); the ship methods, which the lines have, still lead."""
    build(tenant_a.distributor, partners=False, channels=False)
    body = get_map(tenant_a).json()
    groups = [n for n in body["nodes"] if n["kind"] == "customer_group"]
    assert groups and all(n["preferred_channel"] is None for n in groups)
    assert any(n["preferred_ship_method"] for n in groups)
    page = api_as(tenant_a.manager)
    page.force_login(tenant_a.manager)
    html = page.get(reverse("channel-map", kwargs={"tenant": tenant_a.slug})).content.decode()
    table = html[html.index('id="buying-table"') : html.index("</table>", html.index('id="buying-table"'))]
    assert "(none) (100" not in table
    html = page.get(reverse("customer-definitions", kwargs={"tenant": tenant_a.slug})).content.decode()
    assert "(none) 100" not in html and "—" in html
