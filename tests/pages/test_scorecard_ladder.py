"""Issue 12, items 1, 3, 6: a scorecard customers can trust. A customer in each segment: the top
tier's goal is to keep it, service-drain and opportunistic customers work towards the top tier on
profit and buying behaviours respectively, every at-most target above its limit is not met (and not
drawn as nearly met), gaps in words and money by the end of the qualification period, what the next
tier adds, the tier history, in the tenant's currency and date format; nothing internal."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from segments.models import StratificationProfile
from tests import factories as f
from tests.conftest import api_as

from .conftest import AS_OF, add_sales, login, make_run
from .test_scorecard import INTERNAL

pytestmark = pytest.mark.django_db

BUYING = ["purchases", "orders", "categories"]
PROFIT = ["average_order", "days_to_pay", "returns_pct", "self_service_pct"]
PERIOD_END = date(2027, 3, 31)


def scorecard_url(t):
    return reverse("scorecard", kwargs={"tenant": t.slug})


def api_card(t, customer_id=None):
    base = f"/api/v1/tenants/{t.slug}"
    if customer_id is None:
        return api_as(t.customer_user).get(f"{base}/scorecard/").json()
    return api_as(t.manager).get(f"{base}/customers/{customer_id}/scorecard/").json()


def add_paying_lines(t, customer, days: list[int], *, channel="", revenue=Decimal("500")):
    """One invoice per entry of `days` (its days to pay), in the month before AS_OF."""
    with scopes_disabled():
        product = f.ProductFactory(
            distributor=t.distributor, category="Fittings", product_id=f"{customer.customer_id}-F"
        )
        for i, d in enumerate(days):
            f.InvoiceLineFactory(
                distributor=t.distributor,
                customer=customer,
                product=product,
                invoice_date=AS_OF - timedelta(days=3 + i),
                revenue=revenue,
                cost=revenue * Decimal("0.7"),
                days_to_pay=d,
                channel=channel,
            )


@pytest.fixture
def period(tenant_a):
    with scopes_disabled():
        StratificationProfile.objects.update_or_create(
            distributor=tenant_a.distributor, defaults={"qualification_end": PERIOD_END}
        )


def test_top_tier_goal_is_to_keep_it_with_every_target(tenant_a, period):
    add_sales(tenant_a.distributor, tenant_a.assigned_customer, months=4)  # 8,000 over 8 orders, 2 categories
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "core"}})
    card = api_card(tenant_a)
    assert card["goal"] == "keep" and card["next_tier"] is None and card["tier"]["name"] == "Platinum"
    # Every target of Platinum but the web/EDI share (this customer's channels are unknown).
    assert [t["metric"] for t in card["targets"]] == BUYING + PROFIT[:3]
    by = {t["metric"]: t for t in card["targets"]}
    assert by["purchases"] == {
        "metric": "purchases",
        "label": "Purchases in the last 12 months",
        "value": "8000.00",
        "target": "50000.00",
        "direction": "at_least",
        "met": False,
        "gap": "42000.00",
        "text": "Over the 12 months to Mar 31, 2027 you need $50,000 of purchases: "
        "$42,000 more than in your last 12 months",
    }
    # The review counts the 12 months to the period's end, not today's 12 months plus what is bought
    # from now on: the text says what those 12 months need, and how far the last 12 months were.
    assert by["orders"]["text"] == (
        "Over the 12 months to Mar 31, 2027 you need 24 orders: 16 more than in your last 12 months"
    )
    assert by["categories"]["text"] == (
        "Over the 12 months to Mar 31, 2027 you need to buy from 5 product categories: "
        "3 more than in your last 12 months"
    )
    assert "more by" not in str(card)
    assert by["average_order"]["met"] is True and by["average_order"]["value"] == "1000.00"
    # At the boundary (30 days against at most 30): met.
    assert by["days_to_pay"]["met"] is True and by["days_to_pay"]["direction"] == "at_most"
    assert by["returns_pct"]["met"] is True and by["returns_pct"]["value"] == 0
    assert card["period_end"] == "2027-03-31"
    html = login(tenant_a.customer_user).get(scorecard_url(tenant_a)).content.decode()
    assert "What it takes to keep Platinum" in html and "12 months to <strong>Mar 31, 2027</strong>" in html
    assert "you need $50,000 of purchases: $42,000 more than in your last 12 months" in html
    printable = login(tenant_a.customer_user).get(reverse("scorecard-print", kwargs={"tenant": tenant_a.slug}))
    assert "you need $50,000 of purchases: $42,000 more than in your last 12 months" in printable.content.decode()


def test_service_drain_customer_is_shown_profit_behaviours_towards_the_top_tier(tenant_a, period):
    # 34.8 days to pay on average, against Platinum's at most 30; a third of the orders on the web.
    add_paying_lines(tenant_a, tenant_a.assigned_customer, [30, 30, 35, 40, 39], channel="web")
    with scopes_disabled():
        product = f.ProductFactory(distributor=tenant_a.distributor, product_id="X-EDI", category="Pipe")
        for i in range(10):
            f.InvoiceLineFactory(
                distributor=tenant_a.distributor,
                customer=tenant_a.assigned_customer,
                product=product,
                invoice_date=AS_OF - timedelta(days=20 + i),
                revenue=Decimal("200"),
                cost=Decimal("140"),
                days_to_pay=None,
                channel="phone" if i < 8 else "EDI",
            )
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "service_drain"}})
    card = api_card(tenant_a)
    assert card["tier"]["name"] == "Gold" and card["goal"] == "reach" and card["next_tier"]["name"] == "Platinum"
    assert [t["metric"] for t in card["targets"]] == PROFIT
    by = {t["metric"]: t for t in card["targets"]}
    days = by["days_to_pay"]
    assert days["value"] == 34.8 and days["target"] == 30 and days["met"] is False and days["gap"] == 4.8
    assert days["text"] == "Pay within 30 days: you average 34.8 days"
    # 15 orders: 4,500 of purchases -> 300 an order, against at least 450.
    assert by["average_order"]["value"] == "300.00" and by["average_order"]["met"] is False
    assert by["average_order"]["text"] == "Bring your average order to at least $450: you average $300"
    # web 5 + EDI 2 of 15 orders with a known channel: 46.7%, against at least 50%.
    assert by["self_service_pct"]["value"] == 46.7 and by["self_service_pct"]["met"] is False
    assert card["next_tier"]["adds"][0] == "A dedicated sales representative (now: our inside sales team)"
    # The page: an at-most target above its limit is "Not met" and has no progress bar at all.
    response = login(tenant_a.customer_user).get(scorecard_url(tenant_a))
    html = response.content.decode()
    row = html[html.index('data-metric="days_to_pay"') :]
    row = row[: row.index("target-text")]
    assert row.startswith('data-metric="days_to_pay" data-met="false"')
    assert "Not met" in row and "progressbar" not in row
    assert response.context["card"]["targets"][1]["pct"] is None
    assert "Pay within 30 days: you average 34.8 days" in html and "Your path to Platinum" in html
    assert "What Platinum adds:" in html


def test_opportunistic_customer_is_shown_buying_behaviours_towards_the_top_tier(tenant_a):
    add_sales(tenant_a.distributor, tenant_a.assigned_customer, months=2)
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "opportunistic"}})
    card = api_card(tenant_a)
    assert card["tier"]["name"] == "Silver" and card["goal"] == "reach" and card["next_tier"]["name"] == "Platinum"
    assert [t["metric"] for t in card["targets"]] == BUYING
    assert all(t["direction"] == "at_least" for t in card["targets"])


@pytest.mark.parametrize("segment", ["marginal", "lapsed"])
def test_marginal_and_lapsed_customers_work_towards_silver(tenant_a, segment):
    add_paying_lines(tenant_a, tenant_a.assigned_customer, [50, 50])
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": segment}})
    card = api_card(tenant_a)
    assert card["tier"]["name"] == "Bronze" and card["goal"] == "reach" and card["next_tier"]["name"] == "Silver"
    assert [t["metric"] for t in card["targets"]] == PROFIT[:3]
    days = next(t for t in card["targets"] if t["metric"] == "days_to_pay")
    assert days["target"] == 45 and days["value"] == 50 and days["met"] is False


def test_every_at_most_target_above_its_limit_is_not_met_in_every_segment(tenant_a):
    add_paying_lines(tenant_a, tenant_a.assigned_customer, [90, 90, 90])
    for segment in ("core", "service_drain", "opportunistic", "marginal", "lapsed"):
        make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": segment}})
        card = api_card(tenant_a)
        assert card["goal"] == ("keep" if segment == "core" else "reach")
        for target in card["targets"]:
            if target["direction"] == "at_most" and target["value"] is not None and target["value"] > target["target"]:
                assert target["met"] is False and target["gap"] > 0, (segment, target)


def test_tier_history_under_tier_names(tenant_a):
    make_run(
        tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "marginal"}}, as_of=AS_OF - timedelta(days=60)
    )
    make_run(
        tenant_a.distributor,
        {tenant_a.assigned_customer: {"segment": "service_drain"}},
        as_of=AS_OF - timedelta(days=30),
    )
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "core"}}, publish=False)  # a preview
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "core"}})
    card = api_card(tenant_a)
    assert card["history"] == [
        {"as_of": "2026-06-30", "tier": "Platinum"},
        {"as_of": "2026-05-31", "tier": "Gold"},
        {"as_of": "2026-05-01", "tier": "Bronze"},
    ]
    html = login(tenant_a.customer_user).get(scorecard_url(tenant_a)).content.decode()
    assert "Your tier over time" in html and "May 31, 2026: <strong>Gold</strong>" in html


def test_tenant_currency_and_date_format_everywhere(tenant_a, period):
    with scopes_disabled():
        d = tenant_a.distributor
        d.currency, d.locale = "EUR", "de_DE"
        d.save()
    add_sales(d, tenant_a.assigned_customer, months=4)
    make_run(d, {tenant_a.assigned_customer: {"segment": "opportunistic"}})
    card = api_card(tenant_a)
    assert card["targets"][0]["text"] == (
        "Over the 12 months to 31.03.2027 you need 50.000\xa0€ of purchases: "
        "42.000\xa0€ more than in your last 12 months"
    )
    html = login(tenant_a.customer_user).get(scorecard_url(tenant_a)).content.decode()
    assert "42.000\xa0€" in html and "31.03.2027" in html and "$" not in html


def test_period_end_follows_the_schedule_without_a_set_date(tenant_a):
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "core"}})
    with scopes_disabled():
        StratificationProfile.objects.filter(distributor=tenant_a.distributor).update(schedule="weekly")
    end = date.fromisoformat(api_card(tenant_a)["period_end"])
    today = date.today()
    assert today <= end <= today + timedelta(days=7)


@pytest.mark.parametrize("segment", ["core", "service_drain", "opportunistic", "marginal", "lapsed"])
def test_nothing_internal_in_any_segment(tenant_a, segment):
    add_paying_lines(tenant_a, tenant_a.assigned_customer, [40, 20], channel="web")
    make_run(
        tenant_a.distributor,
        {tenant_a.assigned_customer: {"segment": segment}, tenant_a.unassigned_customer: {"segment": "core"}},
    )
    client = login(tenant_a.customer_user)
    for url in (scorecard_url(tenant_a), reverse("scorecard-print", kwargs={"tenant": tenant_a.slug})):
        html = client.get(url).content.decode()
        assert INTERNAL.findall(html) == [], url
        assert tenant_a.unassigned_customer.customer_id not in html
    body = str(api_card(tenant_a))
    assert INTERNAL.findall(body.replace("'", " ")) == []


def test_printable_page(tenant_a):
    add_sales(tenant_a.distributor, tenant_a.assigned_customer, months=3)
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "service_drain"}})
    url = reverse("scorecard-print", kwargs={"tenant": tenant_a.slug})
    response = login(tenant_a.customer_user).get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith(
        'inline; filename="scorecard-alpha-C1'
    )
    html = response.content.decode()
    assert "nav.navbar { display: none; }" in html and "window.print()" in html
    assert 'class="collapse show print-show' in html  # the monthly figures unfolded
    assert login(tenant_a.rep_user).get(url).status_code == 302
    link = login(tenant_a.customer_user).get(scorecard_url(tenant_a)).content.decode()
    assert url in link


def test_period_end_without_a_schedule_is_a_year_after_the_runs_as_of_date(tenant_a):
    # A tenant ranking old data (a run as of Dec 30, 2017, published today): the next yearly review
    # counts the 12 months after the run's, not the 12 months to a year after its publication.
    add_sales(tenant_a.distributor, tenant_a.assigned_customer, months=2)
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "core"}}, as_of=date(2017, 12, 30))
    assert api_card(tenant_a)["period_end"] == "2018-12-30"
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "core"}}, as_of=date(2024, 2, 29))
    assert api_card(tenant_a)["period_end"] == "2025-02-28"


def test_a_lapsed_customer_is_told_to_order_again_not_that_it_missed_its_returns_ceiling(tenant_a, period):
    """No line in its 12 months: the returns' share is not measured (a returns ceiling read "Not met:
    no purchases"), and the scorecard says no order came in those months."""
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "lapsed"}})
    card = api_card(tenant_a)
    assert card["available"] is True
    assert "returns_pct" not in [t["metric"] for t in card["targets"]]
    html = login(tenant_a.customer_user).get(scorecard_url(tenant_a)).content.decode()
    assert 'id="no-recent-orders"' in html and "No orders from your account in your last 12 months." in html
    # A customer who ordered is not told so.
    add_sales(tenant_a.distributor, tenant_a.assigned_customer, months=2)
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "core"}})
    assert 'id="no-recent-orders"' not in login(tenant_a.customer_user).get(scorecard_url(tenant_a)).content.decode()
