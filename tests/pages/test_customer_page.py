"""Customer page, account review and logging an interaction."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from channels.models import Interaction
from tests import factories as f

from .conftest import add_sales, login, make_run

pytestmark = pytest.mark.django_db


def url(tenant, customer, name="customer-detail"):
    return reverse(name, kwargs={"tenant": tenant.slug, "customer_id": customer.customer_id})


@pytest.fixture
def run(tenant_a):
    d = tenant_a.distributor
    with scopes_disabled():
        core_peer = f.CustomerFactory(distributor=d, rep=tenant_a.other_rep, customer_id="alpha-CORE")
    add_sales(d, tenant_a.assigned_customer, categories=("Pipe",), months=3)
    add_sales(d, core_peer, categories=("Pipe", "Valves", "Safety"), months=2)
    return make_run(
        d,
        {
            tenant_a.assigned_customer: {"segment": "opportunistic", "previous_segment": "marginal"},
            core_peer: {"segment": "core", "previous_segment": "core"},
            tenant_a.unassigned_customer: {"segment": "marginal"},
        },
    )


def test_customer_page_shows_segment_reasons_trend_mix_playbook_and_interactions(tenant_a, run):
    response = login(tenant_a.rep_user).get(url(tenant_a, tenant_a.assigned_customer))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Opportunistic" in html and "up from Marginal" in html
    # The explanation in plain words.
    assert "Buys more than 90% of customers" in html
    assert "Buys across fewer categories than 80% of customers" in html
    # 24 months of trend, the last three with sales.
    trend = response.context["trend"]
    assert len(trend) == 24 and trend[-1]["month"] == "2026-06"
    assert trend[-1]["revenue"] == 1000.0 and trend[-1]["gross_margin"] == 300.0
    # Gap analysis: the core peer buys Valves and Safety, this customer does not.
    mix = {row["category"]: row for row in response.context["mix"]}
    assert mix["Pipe"]["share"] == 100.0
    assert mix["Valves"]["share"] == 0.0 and mix["Valves"]["core_share"] == pytest.approx(33.3, abs=0.1)
    assert response.context["mix"][0]["gap"] < 0  # the biggest shortfall first
    # The gaps in points, written by the shared `points` filter: signed, no "-0.0 pt".
    gap_cells = re.findall(r'text-(?:danger|success|muted)">([^<]*) pt<', html)
    assert f"{mix['Valves']['gap']:.1f}" in gap_cells and "-0.0" not in gap_cells
    # Playbook and benefits of the opportunistic tier (Silver by default).
    assert "Grow share of wallet" in html and "tier Silver" in html
    assert tenant_a.interaction.summary in html
    assert 'id="interaction-form"' in html


def test_account_review_is_printable(tenant_a, run):
    response = login(tenant_a.rep_user).get(url(tenant_a, tenant_a.assigned_customer, "customer-review"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Account review" in html and "window.print()" in html


def test_rep_gets_404_for_an_unassigned_or_foreign_customer(tenant_a, tenant_b, run):
    client = login(tenant_a.rep_user)
    for name in ("customer-detail", "customer-review", "customer-scorecard"):
        assert client.get(url(tenant_a, tenant_a.unassigned_customer, name)).status_code == 404
        # Another tenant's account number under this tenant: the same 404.
        assert client.get(url(tenant_a, tenant_b.assigned_customer, name)).status_code == 404
    assert client.post(url(tenant_a, tenant_a.unassigned_customer, "interaction-create"), {}).status_code == 404


def test_manager_opens_any_customer(tenant_a, run):
    assert login(tenant_a.manager).get(url(tenant_a, tenant_a.unassigned_customer)).status_code == 200


def test_customer_user_cannot_open_staff_customer_pages(tenant_a, run):
    client = login(tenant_a.customer_user)
    assert client.get(url(tenant_a, tenant_a.assigned_customer)).status_code == 403
    assert client.get(url(tenant_a, tenant_a.assigned_customer, "customer-review")).status_code == 403
    assert client.post(url(tenant_a, tenant_a.assigned_customer, "interaction-create"), {}).status_code == 403


def test_rep_logs_an_interaction(tenant_a, run):
    client = login(tenant_a.rep_user)
    response = client.post(
        url(tenant_a, tenant_a.assigned_customer, "interaction-create"),
        {
            "date": "2026-06-20",
            "kind": "visit",
            "channel": "on site",
            "summary": "Walked the yard, quoted valves",
            "opportunity": "on",
        },
    )
    assert response.status_code == 302
    with scopes_disabled():
        logged = Interaction.objects.get(summary="Walked the yard, quoted valves")
    assert logged.customer == tenant_a.assigned_customer
    assert logged.distributor == tenant_a.distributor
    assert logged.rep == tenant_a.rep and logged.opportunity and logged.created_by == tenant_a.rep_user
    page = client.get(response["Location"]).content.decode()
    assert (
        "Walked the yard" in page and '<span class="fw-normal text-muted interaction-channel">by on site</span>' in page
    )


def test_an_invalid_interaction_shows_errors_naming_the_field(tenant_a, run):
    response = login(tenant_a.rep_user).post(
        url(tenant_a, tenant_a.assigned_customer, "interaction-create"),
        {"date": "2099-01-01", "kind": "visit", "summary": ""},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Summary: This field is required." in html
    assert "Date: An interaction cannot be in the future." in html and "Date: Date:" not in html
    with scopes_disabled():
        assert not Interaction.objects.filter(distributor=tenant_a.distributor, kind="visit").exists()
    ancient = login(tenant_a.rep_user).post(
        url(tenant_a, tenant_a.assigned_customer, "interaction-create"),
        {"date": "1900-01-01", "kind": "visit", "summary": "Long ago"},
    )
    assert ancient.status_code == 400 and "Log interactions of the last five years here" in ancient.content.decode()


def test_customer_without_a_run_still_has_a_page(tenant_a):
    response = login(tenant_a.rep_user).get(url(tenant_a, tenant_a.assigned_customer))
    assert response.status_code == 200
    assert "none is published yet" in response.content.decode()


def _mix_world(tenant):
    """The customer buys five categories alike (20% each); the core peer buys "Same" at 20% too,
    and eight others: 13 categories, 12 with a gap (4 over, 8 under), "Same" with none."""
    d = tenant.distributor
    with scopes_disabled():
        peer = f.CustomerFactory(distributor=d, rep=tenant.other_rep, customer_id="alpha-CORE")
    add_sales(d, tenant.assigned_customer, categories=("Same", "Mine1", "Mine2", "Mine3", "Mine4"), months=3)
    add_sales(d, peer, categories=("Same",), months=3, amount=Decimal("2000"))
    add_sales(d, peer, categories=tuple(f"Core{i}" for i in range(1, 9)), months=3)
    make_run(d, {tenant.assigned_customer: {"segment": "opportunistic"}, peer: {"segment": "core"}})


def test_category_mix_shows_the_ten_biggest_gaps_and_the_rest_under_show_all(tenant_a):
    """Item 7, generalised by issue 16 (item 3): the categories with money at stake first (largest
    first, at most 10 shown); the categories with nothing at stake (the customer buys more than the
    core peer, or as much) collapsed under "Show all"."""
    _mix_world(tenant_a)
    response = login(tenant_a.rep_user).get(url(tenant_a, tenant_a.assigned_customer))
    html = response.content.decode()
    top = re.search(r'<tbody id="mix-top">(.*?)</tbody>', html, re.S).group(1)
    more = re.search(r'<tbody class="collapse[^"]*" id="mix-more">(.*?)</tbody>', html, re.S).group(1)
    shown = re.findall(r'<td class="category">([^<]+)</td>', top)
    hidden = re.findall(r'<td class="category">([^<]+)</td>', more)
    assert sorted(shown) == [f"Core{i}" for i in range(1, 9)]  # the peer's median spend, none bought here
    assert sorted(hidden) == ["Mine1", "Mine2", "Mine3", "Mine4", "Same"]
    assert 'id="mix-show-all"' in html and "Show all 13 categories" in html


def test_a_mix_with_nothing_at_stake_says_so(tenant_a):
    """The customer buys what the core peer buys, in the same shares: nothing at stake anywhere (the
    page read "The 0 largest amounts at stake" over an empty table)."""
    d = tenant_a.distributor
    with scopes_disabled():
        peer = f.CustomerFactory(distributor=d, rep=tenant_a.other_rep, customer_id="alpha-CORE")
    add_sales(d, tenant_a.assigned_customer, categories=("Same",), months=3)
    add_sales(d, peer, categories=("Same",), months=3, amount=Decimal("2000"))
    make_run(d, {tenant_a.assigned_customer: {"segment": "opportunistic"}, peer: {"segment": "core"}})
    html = login(tenant_a.rep_user).get(url(tenant_a, tenant_a.assigned_customer)).content.decode()
    assert 'id="nothing-at-stake"' in html and "The 0 largest" not in html


def test_category_mix_of_few_categories_collapses_the_one_without_a_gap(tenant_a, run):
    """Issue 16: a category with nothing at stake (Pipe: this customer buys more than the core
    peer's median) is collapsed under "Show all" even among few categories."""
    html = login(tenant_a.rep_user).get(url(tenant_a, tenant_a.assigned_customer)).content.decode()
    top = re.search(r'<tbody id="mix-top">(.*?)</tbody>', html, re.S).group(1)
    assert re.findall(r'<td class="category">([^<]+)</td>', top) == ["Safety", "Valves"]
    assert 'id="mix-show-all"' in html and "Show all 3 categories" in html


def test_interactions_are_paginated_newest_first(tenant_a, run):
    """Item 7: ten interactions a page, with links to the others."""
    with scopes_disabled():
        Interaction.objects.filter(distributor=tenant_a.distributor).delete()
        for n in range(23):
            f.InteractionFactory(
                distributor=tenant_a.distributor,
                customer=tenant_a.assigned_customer,
                date=date(2026, 6, 28) - timedelta(days=n),
                summary=f"Call number {n:02d}",
            )
    client = login(tenant_a.rep_user)
    base = url(tenant_a, tenant_a.assigned_customer)
    first = client.get(base).content.decode()
    assert re.findall(r"Call number (\d\d)", first) == [f"{n:02d}" for n in range(10)]
    assert "?interactions_page=2#interactions" in first and "Page 1 of 3" in first
    last = client.get(base + "?interactions_page=3").content.decode()
    assert re.findall(r"Call number (\d\d)", last) == ["20", "21", "22"]
    assert "?interactions_page=2#interactions" in last
    # A page past the end or not a number: the last or the first page, never an error.
    assert client.get(base + "?interactions_page=99").status_code == 200
    assert client.get(base + "?interactions_page=x").status_code == 200
    # The account review prints only the most recent ones, without pages.
    review = client.get(url(tenant_a, tenant_a.assigned_customer, "customer-review")).content.decode()
    assert re.findall(r"Call number (\d\d)", review) == [f"{n:02d}" for n in range(8)]
    assert "interactions_page" not in review


def test_monthly_figures_round_half_up_to_the_cent(tenant_a):
    from decimal import Decimal

    from insights.customers import monthly_trend
    from sales.models import CustomerMonth
    from tests.pages.conftest import AS_OF

    with scopes_disabled():
        CustomerMonth.objects.create(
            distributor=tenant_a.distributor,
            customer=tenant_a.assigned_customer,
            month=AS_OF.replace(day=1),
            revenue=Decimal("2.6750"),
            cost=Decimal("0"),
            lines=1,
            return_lines=0,
            orders=1,
        )
        trend = monthly_trend(distributor=tenant_a.distributor, customer=tenant_a.assigned_customer, as_of=AS_OF)
    assert trend[-1]["revenue"] == 2.68
