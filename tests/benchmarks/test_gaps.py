"""Issue 16, item 3: the customer page's gap analysis against a naive computation: peers are the core
customers of the customer's class (all core customers when the class has fewer than 10), money at
stake is the peers' median spend per category scaled to the customer's size, less its own spend;
sorted by money at stake; API per customer; a rep sees only their customers' gaps."""

import statistics
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from tests import factories as f
from tests.conftest import api_as
from tests.pages.conftest import AS_OF, login, make_run

pytestmark = pytest.mark.django_db
CATS = ("Pipe", "Valves", "Safety", "Tools")


def world(t, contractors: int, subject_buys: dict | None = None):
    """`contractors` core customers of class contractor, 4 core retail ones, and the subject (an
    opportunistic contractor of t.rep) with lines in the window; returns (subject, spend) where
    spend maps account -> {category: revenue}."""
    d = t.distributor
    spend = {}
    with scopes_disabled():
        products = {c: f.ProductFactory(distributor=d, category=c, product_id=f"P-{c}") for c in CATS}
        people = {}
        for i in range(contractors):
            people[f"CC{i}"] = ("contractor", "core", {"Pipe": 100 + 10 * i, "Valves": 50 * (i % 3), "Tools": 20})
        for i in range(4):
            people[f"RC{i}"] = ("retail", "core", {"Safety": 400 + i, "Pipe": 10})
        people["SUBJ"] = ("contractor", "opportunistic", subject_buys or {"Pipe": 300, "Safety": 5})
        customers = {}
        n = 0
        for account, (klass, _segment, buys) in people.items():
            customers[account] = f.CustomerFactory(
                distributor=d,
                customer_id=account,
                customer_class=klass,
                rep=t.rep if account == "SUBJ" else t.other_rep,
            )
            for category, amount in buys.items():
                if not amount:
                    continue
                n += 1
                f.InvoiceLineFactory(
                    distributor=d,
                    customer=customers[account],
                    product=products[category],
                    invoice_id=f"G{n}",
                    invoice_date=AS_OF,
                    revenue=Decimal(amount),
                    cost=Decimal(0),
                )
            spend[account] = {c: Decimal(a) for c, a in buys.items() if a}
    make_run(d, {customers[a]: {"segment": p[1]} for a, p in people.items()})
    return customers["SUBJ"], spend, people


def naive(spend, people, klass):
    of_class = [a for a, p in people.items() if p[1] == "core" and p[0] == klass]
    peers = of_class if len(of_class) >= 10 else [a for a, p in people.items() if p[1] == "core"]
    sizes = [sum(spend[a].values()) for a in peers]
    scale = sum(v for v in spend["SUBJ"].values() if v > 0) / Decimal(statistics.median(sizes))
    out = {}
    for c in CATS:
        med = Decimal(statistics.median([spend[a].get(c, Decimal(0)) for a in peers]))
        expected = med * scale
        bought = max(Decimal(0), spend["SUBJ"].get(c, Decimal(0)))  # a net return is no purchase to win back
        out[c] = max(Decimal(0), expected - bought).quantize(Decimal("0.01"))
    return out, len(peers)


@pytest.mark.parametrize("contractors,scope", [(12, "class"), (5, "all")])
def test_gaps_match_a_naive_computation(tenant_a, contractors, scope):
    subject, spend, people = world(tenant_a, contractors)
    expected, peers = naive(spend, people, "contractor")
    url = reverse("api-customer-gaps", kwargs={"tenant": tenant_a.slug, "customer_id": subject.customer_id})
    body = api_as(tenant_a.rep_user).get(url).json()
    assert body["peers"]["scope"] == scope and body["peers"]["customers"] == peers
    got = {r["category"]: Decimal(r["at_stake"]) for r in body["categories"]}
    assert got == expected
    stakes = [Decimal(r["at_stake"]) for r in body["categories"]]
    assert stakes == sorted(stakes, reverse=True)
    # The page shows the categories with money at stake first, the others collapsed.
    page = login(tenant_a.rep_user).get(
        reverse("customer-detail", kwargs={"tenant": tenant_a.slug, "customer_id": "SUBJ"})
    )
    top = [r["category"] for r in page.context["mix_top"]]
    assert top == [c for c, v in sorted(expected.items(), key=lambda kv: -kv[1]) if v > 0][: len(top)]
    assert all(r["at_stake"] == 0 for r in page.context["mix_more"])
    review = login(tenant_a.manager).get(
        reverse("customer-review", kwargs={"tenant": tenant_a.slug, "customer_id": "SUBJ"})
    )
    assert review.status_code == 200 and 'id="category-mix"' in review.content.decode()


def test_a_net_return_in_a_category_is_no_money_at_stake(tenant_a):
    """The subject returned more Valves than it bought: what is at stake there is the peers' scaled
    spend, not that plus the refund (a $643 return read as $643 at stake)."""
    subject, spend, people = world(tenant_a, 12, subject_buys={"Pipe": 300, "Safety": 5, "Valves": -643})
    expected, _ = naive(spend, people, "contractor")
    url = reverse("api-customer-gaps", kwargs={"tenant": tenant_a.slug, "customer_id": subject.customer_id})
    got = {r["category"]: Decimal(r["at_stake"]) for r in api_as(tenant_a.rep_user).get(url).json()["categories"]}
    assert got == expected and got["Valves"] < Decimal(100)


def test_gaps_of_another_reps_customer_are_not_found(tenant_a):
    world(tenant_a, 3)
    url = reverse("api-customer-gaps", kwargs={"tenant": tenant_a.slug, "customer_id": "CC0"})
    assert api_as(tenant_a.rep_user).get(url).status_code == 404
    assert api_as(tenant_a.manager).get(url).status_code == 200
    assert api_as(tenant_a.customer_user).get(url).status_code == 403


def test_gaps_export(tenant_a):
    subject, spend, people = world(tenant_a, 12)
    expected, _ = naive(spend, people, "contractor")
    url = reverse("customer-gaps-export", kwargs={"tenant": tenant_a.slug, "customer_id": "SUBJ"})
    response = login(tenant_a.rep_user).get(url)
    lines = response.content.decode("utf-8-sig").strip().splitlines()
    got = {line.split(",")[0]: Decimal(line.split(",")[-1]) for line in lines[1:]}
    assert got == expected
    assert login(tenant_a.rep_user).get(url, {"export": "xlsx"}).status_code == 200
    assert login(tenant_a.rep_user).get(url, {"export": "pdf"}).status_code == 400
    other = reverse("customer-gaps-export", kwargs={"tenant": tenant_a.slug, "customer_id": "CC0"})
    assert login(tenant_a.rep_user).get(other).status_code == 404
