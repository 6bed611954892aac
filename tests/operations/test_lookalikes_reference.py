"""The marketing list (lookalikes of core customers) against a naive computation of its definition
(docs/guide-manager.md "Marketing lists", `operations.selectors.lookalikes`), in plain Python over the
raw records (the run's scores, the customers, the invoice lines and their products; never the line
summaries the code reads), with exact fractions:

* population: the customers the published run scored; group: the customer class, else the
  supply-chain role (neither: no group, never listed);
* a customer *bought* a category when it has a kept line (quantity >= 0 and revenue >= 0) dated in the
  run's window whose product has that (non-empty) category;
* the profile of a group: per category, the share of the group's core customers who bought it (core
  customers who bought nothing count in the denominator);
* listed: customers of any segment but core and lapsed, in a group with a core customer, whose
  similarity (the cosine between their 0/1 categories and the profile) is above 0;
* score = similarity x (1 - share of wallet clipped to [0, 1] / 2), or x 3/4 without a share of wallet;
  similarity and score rounded to 4 decimals; ranked by that score, highest first, then customer id;
* pitch: the group's categories with a share of at least one half that the customer did not buy, the
  highest share first, then by name, at most three.

The selector, the API (every page of it) and the page's CSV export must give exactly these rows, in
this order, on hand-made data with planted cases and on hypothesis-generated data, for two tenants
whose data must never mix."""

from __future__ import annotations

import csv
import io
import itertools
import math
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.cache import cache
from django.urls import reverse
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operations import selectors as ops
from sales import summaries
from sales.models import Customer, InvoiceLine, Product
from segments.models import CustomerScore
from segments.selectors import run_window
from segments.vocabulary import SEGMENT_LABELS
from tests.conftest import api_as, make_tenant
from tests.operations.conftest import AS_OF, RATES
from tests.pages.conftest import login, make_run

pytestmark = pytest.mark.django_db

CATEGORIES = ["Pipe", "Valves", "Wire", "Tools", "Paint", ""]  # "": a product without a category
PITCH = 3


# --- the reference ---------------------------------------------------------------------------------


def reference(distributor, run) -> list[dict]:
    """The marketing list from its definition, over the raw records."""
    window = run_window(run)
    start, end = window.start, window.as_of
    with scopes_disabled():
        scores = list(CustomerScore.objects.filter(distributor=distributor, run=run).select_related("customer"))
        lines = list(InvoiceLine.objects.filter(distributor=distributor).select_related("product"))
    bought: dict[int, set[str]] = {}
    for line in lines:
        kept = line.quantity >= 0 and line.revenue >= 0
        if kept and start <= line.invoice_date <= end and line.product.category:
            bought.setdefault(line.customer_id, set()).add(line.product.category)

    def group(customer):
        if customer.customer_class:
            return customer.customer_class
        if customer.supply_chain_role:
            return "role:" + customer.supply_chain_role
        return None

    core: dict[str, list[int]] = {}
    for s in scores:
        if s.segment == "core" and group(s.customer) is not None:
            core.setdefault(group(s.customer), []).append(s.customer_id)
    profile: dict[str, dict[str, Fraction]] = {}
    for g, members in core.items():
        counts: dict[str, int] = {}
        for pk in members:
            for category in bought.get(pk, ()):
                counts[category] = counts.get(category, 0) + 1
        profile[g] = {c: Fraction(n, len(members)) for c, n in counts.items()}

    rows = []
    for s in scores:
        g = group(s.customer)
        if s.segment in ("core", "lapsed") or g not in core:
            continue
        mine = bought.get(s.customer_id, set())
        weights = profile[g]
        dot = sum((weights.get(c, Fraction(0)) for c in mine), Fraction(0))
        norm_squared = sum((w * w for w in weights.values()), Fraction(0))
        if not mine or dot == 0:
            continue
        similarity = math.sqrt(dot * dot / (len(mine) * norm_squared))  # the cosine, exact until the root
        sow = s.share_of_wallet
        factor = Fraction(3, 4) if sow is None else 1 - min(max(Fraction(sow), Fraction(0)), Fraction(1)) / 2
        score = similarity * float(factor)
        strong = sorted((c for c, w in weights.items() if w >= Fraction(1, 2)), key=lambda c: (-weights[c], c))
        rows.append(
            {
                "customer_id": s.customer.customer_id,
                "name": s.customer.name or "",
                "segment": s.segment,
                "group": g.removeprefix("role:"),
                "similarity": round(similarity, 4),
                "share_of_wallet": sow,
                "score": round(score, 4),
                "pitch": ", ".join([c for c in strong if c not in mine][:PITCH]),
            }
        )
    return sorted(rows, key=lambda r: (-r["score"], r["customer_id"]))


# --- what the code gives: selector, API, page --------------------------------------------------------


def from_selector(distributor, run) -> list[dict]:
    with scopes_disabled():
        return ops.lookalikes(distributor=distributor, run=run)


def from_api(tenant) -> list[dict]:
    client = api_as(tenant.manager)
    url = reverse("api-ops-lookalikes", kwargs={"tenant": tenant.slug})
    rows, page = [], 1
    while True:
        response = client.get(url, {"page": page})
        assert response.status_code == 200, response.content
        body = response.json()
        rows.extend(body["results"])
        if not body["next"]:
            return rows
        page += 1


def from_page(tenant) -> list[list[str]]:
    response = login(tenant.manager).get(reverse("ops-marketing", kwargs={"tenant": tenant.slug}), {"export": "csv"})
    assert response.status_code == 200
    exported = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert exported[0] == [
        "Customer",
        "Name",
        "Segment",
        "Class or role",
        "Similarity to core %",
        "Share of wallet %",
        "Score",
        "Categories to pitch",
    ]
    return exported[1:]


def as_csv(row: dict) -> list[str]:
    """A reference row as the page's CSV export writes it (percentages with two decimals)."""

    def pct(value):
        return "" if value is None else f"{Decimal(repr(value)) * 100:.2f}"

    return [
        row["customer_id"],
        row["name"],
        SEGMENT_LABELS[row["segment"]],
        row["group"],
        pct(row["similarity"]),
        pct(row["share_of_wallet"]),
        repr(float(row["score"])),
        row["pitch"],
    ]


def assert_agree(tenant, run, *, others=()) -> list[dict]:
    """The selector, the API and the page's export against the reference; no customer of `others`."""
    cache.clear()
    ops._MEMO.clear()
    expected = reference(tenant.distributor, run)
    assert from_selector(tenant.distributor, run) == expected
    assert from_api(tenant) == expected
    assert from_page(tenant) == [as_csv(r) for r in expected]
    with scopes_disabled():
        foreign = Customer.objects.filter(distributor__in=[o.distributor for o in others])
        foreign = set(foreign.values_list("customer_id", flat=True))
    assert not {r["customer_id"] for r in expected} & foreign
    return expected


# --- hand-made data with planted cases -------------------------------------------------------------


def catalog(distributor, prefix: str) -> dict[str, Product]:
    with scopes_disabled():
        return {
            c: Product.objects.create(distributor=distributor, product_id=f"{prefix}{c or 'none'}", name=c, category=c)
            for c in CATEGORIES
        }


def write(distributor, products, purchases) -> None:
    """`purchases`: (customer, category, days before AS_OF (negative: after it), return?) tuples."""
    with scopes_disabled():
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(
                    distributor=distributor,
                    invoice_id=f"I{n:04d}",
                    line_no=1,
                    invoice_date=AS_OF - timedelta(days=days),
                    customer=customer,
                    product=products[category],
                    quantity=Decimal(-2 if is_return else 3),
                    revenue=Decimal("-40.00" if is_return else "60.00"),
                    cost=Decimal("-30.00" if is_return else "45.00"),
                    ship_method="truck",
                    branch="East",
                )
                for n, (customer, category, days, is_return) in enumerate(purchases)
            ]
        )
    summaries.refresh_tenant(distributor)


def customer(distributor, customer_id: str, *, cls: str = "contractor", role: str = "") -> Customer:
    with scopes_disabled():
        return Customer.objects.create(
            distributor=distributor,
            customer_id=customer_id,
            name=f"Name of {customer_id}",
            customer_class=cls,
            supply_chain_role=role,
        )


def planted(tenant, prefix: str, *, more=()):
    """Customers of one tenant with a planted case each (see the expectations in the test); `more`:
    further (customer key, category, days, return?) purchases."""
    d = tenant.distributor
    products = catalog(d, prefix)
    c = {}
    # Created out of id order: a tie must be broken by the customer id, not by the primary key.
    for key, cls, role in [
        ("CORE1", "contractor", ""),
        ("CORE2", "contractor", ""),
        ("CORE3", "contractor", ""),  # core, no lines: counts in the profile's denominator
        ("TIE2", "contractor", ""),
        ("TIE1", "contractor", ""),
        ("LOOK", "contractor", ""),  # buys what core contractors buy: the clear lookalike
        ("PAINT", "contractor", ""),  # buys only what no core customer buys: not a lookalike
        ("NOLINES", "contractor", ""),
        ("RETURNS", "contractor", ""),  # only a return of a core category: bought nothing
        ("LATER", "contractor", ""),  # Valves in the window, Pipe only after as_of
        ("EARLIER", "contractor", ""),  # Wire in the window, Pipe only before the window
        ("LAPSED", "contractor", ""),
        ("PLANT", "plant", ""),  # a group without core customers
        ("ROLECORE", "", "end_user"),
        ("ROLELOOK", "", "end_user"),
        ("NOGROUP", "", ""),
        ("BIGSOW", "contractor", ""),  # share of wallet above 1: clipped
        ("UNSCORED", "contractor", ""),  # not in the run
        ("UNCAT", "contractor", ""),  # only a product without a category
    ]:
        c[key] = customer(d, f"{prefix}{key}", cls=cls, role=role)
    purchases = [
        (c["CORE1"], "Pipe", 10, False),
        (c["CORE1"], "Valves", 20, False),
        (c["CORE1"], "Wire", 30, False),
        (c["CORE2"], "Pipe", 40, False),
        (c["CORE2"], "Valves", 364, False),  # the window's first day
        (c["CORE2"], "Paint", 365, False),  # the day before the window
        (c["CORE2"], "Tools", -1, False),  # the day after as_of
        (c["TIE1"], "Pipe", 50, False),
        (c["TIE1"], "Wire", 60, False),
        (c["TIE2"], "Wire", 70, False),
        (c["TIE2"], "Pipe", 80, False),
        (c["LOOK"], "Pipe", 5, False),
        (c["LOOK"], "Valves", 6, False),
        (c["PAINT"], "Paint", 7, False),
        (c["RETURNS"], "Pipe", 8, True),
        (c["LATER"], "Valves", 9, False),
        (c["LATER"], "Pipe", -5, False),
        (c["EARLIER"], "Wire", 11, False),
        (c["EARLIER"], "Pipe", 400, False),
        (c["LAPSED"], "Pipe", 12, False),
        (c["PLANT"], "Pipe", 13, False),
        (c["ROLECORE"], "Tools", 14, False),
        (c["ROLELOOK"], "Tools", 15, False),
        (c["ROLELOOK"], "Pipe", 16, False),
        (c["NOGROUP"], "Pipe", 17, False),
        (c["BIGSOW"], "Pipe", 18, False),
        (c["UNSCORED"], "Pipe", 19, False),
        (c["UNCAT"], "", 21, False),
        *((c[key], category, days, ret) for key, category, days, ret in more),
    ]
    write(d, products, purchases)
    segments = {
        "CORE1": ("core", None),
        "CORE2": ("core", None),
        "CORE3": ("core", None),
        "TIE1": ("marginal", None),
        "TIE2": ("marginal", None),
        "LOOK": ("opportunistic", 0.1),
        "PAINT": ("marginal", 0.2),
        "NOLINES": ("marginal", None),
        "RETURNS": ("service_drain", None),
        "LATER": ("marginal", 0.5),
        "EARLIER": ("marginal", None),
        "LAPSED": ("lapsed", None),
        "PLANT": ("marginal", None),
        "ROLECORE": ("core", None),
        "ROLELOOK": ("service_drain", 0.4),
        "NOGROUP": ("marginal", None),
        "BIGSOW": ("opportunistic", 1.3),
        "UNCAT": ("marginal", None),
    }
    rows = {c[k]: {"segment": s, "share_of_wallet": sow} for k, (s, sow) in segments.items()}
    return make_run(d, rows, as_of=AS_OF, settings=RATES)


def test_planted_cases_agree_with_the_definition_on_selector_api_and_page(tenant_a, tenant_b):
    run_a = planted(tenant_a, "A-")
    # Tenant B: its third core contractor buys Paint and Wire (A's profile must not see it), and A's
    # non-lookalike's twin in B buys Valves.
    run_b = planted(
        tenant_b, "B-", more=[("CORE3", "Paint", 3, False), ("CORE3", "Wire", 4, False), ("PAINT", "Valves", 5, False)]
    )
    rows = assert_agree(tenant_a, run_a, others=[tenant_b])
    assert_agree(tenant_b, run_b, others=[tenant_a])

    # The contractors' profile (three core, one without lines): Pipe 2/3, Valves 2/3, Wire 1/3 (norm 1;
    # CORE2's Paint the day before the window and Tools the day after it do not count). The end users':
    # Tools 1. Scores: LOOK 0.9428 x 0.95, ROLELOOK 0.7071 x 0.8, TIE1 = TIE2 0.7071 x 0.75, LATER
    # 0.6667 x 0.75, BIGSOW 0.6667 x 0.5, EARLIER 0.3333 x 0.75.
    listed = [r["customer_id"].removeprefix("A-") for r in rows]
    assert listed == ["LOOK", "ROLELOOK", "TIE1", "TIE2", "LATER", "BIGSOW", "EARLIER"]
    by_id = {r["customer_id"].removeprefix("A-"): r for r in rows}
    assert by_id["LOOK"]["similarity"] == 0.9428 and by_id["LOOK"]["score"] == 0.8957 and by_id["LOOK"]["pitch"] == ""
    assert by_id["BIGSOW"]["score"] == 0.3333  # share of wallet 1.3 clipped to 1
    assert by_id["TIE1"]["score"] == by_id["TIE2"]["score"]  # a tie, ranked by customer id
    assert by_id["TIE1"]["pitch"] == "Valves"
    assert by_id["LATER"]["similarity"] == round(2 / 3, 4)  # Pipe after as_of is not in the window
    assert by_id["LATER"]["pitch"] == "Pipe"
    assert by_id["EARLIER"]["similarity"] == round(1 / 3, 4) and by_id["EARLIER"]["pitch"] == "Pipe, Valves"
    assert by_id["ROLELOOK"]["group"] == "end_user" and by_id["ROLELOOK"]["pitch"] == ""
    for absent in ("PAINT", "NOLINES", "RETURNS", "LAPSED", "PLANT", "NOGROUP", "UNSCORED", "UNCAT", "CORE1"):
        assert absent not in listed
    # The page shows the score it ranks by, to 4 decimals (to 1, eight rows read "0.7" in a row).
    html = login(tenant_a.manager).get(reverse("ops-marketing", kwargs={"tenant": tenant_a.slug})).content.decode()
    assert ">0.8957<" in html and ">0.3333<" in html


# --- generated data --------------------------------------------------------------------------------

SEGMENTS = ["core", "core", "opportunistic", "service_drain", "marginal", "lapsed"]
DAYS = [-10, -1, 0, 1, 30, 100, 200, 364, 365, 500]  # days before as_of (negative: after it; 365: before the window)
purchase = st.tuples(
    st.sampled_from(["Pipe", "Pipe", "Valves", "Valves", *CATEGORIES]),
    st.sampled_from(DAYS),
    st.integers(0, 7).map(lambda n: n == 0),  # a return, now and then
)
person = st.fixed_dictionaries(
    {
        "cls": st.sampled_from(["contractor", "contractor", "plant", ""]),
        "role": st.sampled_from(["end_user", ""]),
        "segment": st.sampled_from(SEGMENTS),
        "sow": st.one_of(st.none(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.8, 1.0, 1.2, -0.1])),
        "buys": st.lists(purchase, min_size=1, max_size=6),
    }
)
_slugs = itertools.count()


def generated(people, prefix: str):
    tenant = make_tenant(f"gen{next(_slugs)}")
    d = tenant.distributor
    products = catalog(d, prefix)
    customers = [customer(d, f"{prefix}{i:02d}", cls=p["cls"], role=p["role"]) for i, p in enumerate(people)]
    write(d, products, [(c, *bought) for c, p in zip(customers, people, strict=True) for bought in p["buys"]])
    rows = {c: {"segment": p["segment"], "share_of_wallet": p["sow"]} for c, p in zip(customers, people, strict=True)}
    return tenant, make_run(d, rows, as_of=AS_OF, settings=RATES)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    people=st.lists(person, min_size=4, max_size=10),
    others=st.lists(person, min_size=2, max_size=6),
)
def test_generated_data_agrees_with_the_definition(people, others):
    first, first_run = generated(people, "X")
    second, second_run = generated(others, "Y")
    assert_agree(first, first_run, others=[second])
    assert_agree(second, second_run, others=[first])
