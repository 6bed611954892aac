"""Issue 12, items 1, 2, 6 and "bad input": the tier ladder, the targets' directions, and what a
manager may set (form and API: errors name the field, nothing is saved)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from segments.models import TierPolicy, TierPolicyChange
from segments.policies import (
    AT_LEAST,
    AT_MOST,
    METRIC_BY_KEY,
    METRICS,
    PROFIT_ORDER,
    evaluate,
    ladder_warnings,
    metrics_towards,
    next_tier,
)
from segments.selectors import policy_list
from tests.conftest import api_as
from tests.pages.conftest import login
from tests.pages.test_policies import form_data, policy

BUYING_KEYS = ["purchases", "orders", "categories"]
PROFIT_KEYS = ["average_order", "days_to_pay", "returns_pct", "self_service_pct"]


# ---- the direction logic ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "value", "target", "met", "gap"),
    [
        # at least: below, at the boundary, above
        ("purchases", Decimal("32863"), Decimal("50000"), False, Decimal("17137")),
        ("purchases", Decimal("50000"), Decimal("50000"), True, Decimal("0")),
        ("purchases", Decimal("50000.01"), Decimal("50000"), True, Decimal("0")),
        ("orders", 23, 24, False, Decimal("1")),
        # at most: above (not met, never "nearly met"), at the boundary, below
        ("days_to_pay", Decimal("34.8"), 30, False, Decimal("4.8")),
        ("days_to_pay", Decimal("30.0"), 30, True, Decimal("0")),
        ("days_to_pay", Decimal("12.5"), 30, True, Decimal("0")),
        ("returns_pct", Decimal("5.1"), Decimal("5"), False, Decimal("0.1")),
        ("returns_pct", Decimal("5.0"), Decimal("5"), True, Decimal("0")),
        # no figure: not met, no gap
        ("days_to_pay", None, 30, False, None),
        ("average_order", None, Decimal("450"), False, None),
    ],
)
def test_met_and_gap_in_both_directions(key, value, target, met, gap):
    result = evaluate(METRIC_BY_KEY[key], value, target)
    assert result["met"] is met and result["gap"] == gap


def test_within_ten_percent_in_both_directions():
    assert evaluate(METRIC_BY_KEY["purchases"], 45000, 50000)["near"] is True
    assert evaluate(METRIC_BY_KEY["purchases"], 44999, 50000)["near"] is False
    assert evaluate(METRIC_BY_KEY["days_to_pay"], 33, 30)["near"] is True
    assert evaluate(METRIC_BY_KEY["days_to_pay"], Decimal("33.1"), 30)["near"] is False


def test_every_target_has_a_direction():
    directions = {m.key: m.direction for m in METRICS}
    assert directions == {
        "purchases": AT_LEAST,
        "orders": AT_LEAST,
        "categories": AT_LEAST,
        "average_order": AT_LEAST,
        "days_to_pay": AT_MOST,
        "returns_pct": AT_MOST,
        "self_service_pct": AT_LEAST,
    }


def test_targets_shown_depend_on_where_a_customer_stands():
    keys = lambda a, b: [m.key for m in metrics_towards(a, b)]  # noqa: E731
    assert keys("service_drain", "core") == PROFIT_KEYS  # high value, not profitable
    assert keys("opportunistic", "core") == BUYING_KEYS  # profitable, not high value
    assert keys("marginal", "opportunistic") == PROFIT_KEYS
    assert keys("core", None) == BUYING_KEYS + PROFIT_KEYS  # keeping the top tier: everything


# ---- the ladder ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_default_ladder_climbs_towards_profit(tenant_a):
    with scopes_disabled():
        policies = policy_list(distributor=tenant_a.distributor)
    by = {p.segment: p for p in policies}
    towards = {s: (next_tier(policies, p).segment if next_tier(policies, p) else None) for s, p in by.items()}
    assert towards == {"marginal": "opportunistic", "opportunistic": "core", "service_drain": "core", "core": None}
    # Never towards a less profitable segment by default, and no warning.
    for segment, target in towards.items():
        if target:
            assert PROFIT_ORDER.index(target) < PROFIT_ORDER.index(segment)
    assert ladder_warnings(policies) == {}


def tiers_url(t):
    return f"/api/v1/tenants/{t.slug}/tier-policies/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"segment": "core", "works_towards": "opportunistic"}, "works_towards", "circle"),
        ({"segment": "opportunistic", "works_towards": "opportunistic"}, "works_towards", "cannot work towards itself"),
        ({"segment": "marginal", "works_towards": "lapsed"}, "works_towards", "Lapsed customers have no tier"),
        ({"segment": "core", "target_avg_order_value": "-1"}, "target_avg_order_value", "Must not be negative."),
        ({"segment": "core", "target_revenue_12m": "-5"}, "target_revenue_12m", "Must not be negative."),
        ({"segment": "core", "target_returns_pct": "101"}, "target_returns_pct", "Must be between 0 and 100."),
        ({"segment": "core", "target_self_service_pct": "-0.5"}, "target_self_service_pct", "Must not be negative."),
        ({"segment": "core", "target_self_service_pct": "150"}, "target_self_service_pct", "between 0 and 100"),
    ],
)
def test_api_bad_input_is_a_400_naming_the_field(tenant_a, item, field, message):
    response = api_as(tenant_a.manager).put(tiers_url(tenant_a), [item], format="json")
    assert response.status_code == 400
    errors = response.json()[item["segment"]]
    assert field in errors and any(message in m for m in errors[field]), errors
    with scopes_disabled():
        assert not TierPolicyChange.objects.filter(distributor=tenant_a.distributor).exists()


@pytest.mark.django_db
def test_a_three_step_cycle_is_refused(tenant_a):
    # marginal -> opportunistic -> core; core -> marginal closes the circle.
    response = api_as(tenant_a.manager).put(
        tiers_url(tenant_a), [{"segment": "core", "works_towards": "marginal"}], format="json"
    )
    assert response.status_code == 400
    assert "Platinum → Bronze → Silver → Platinum" in response.json()["core"]["works_towards"][0]


@pytest.mark.django_db
def test_api_accepts_the_new_fields_and_warns_about_a_less_profitable_target(tenant_a):
    body = [
        {"segment": "opportunistic", "works_towards": "service_drain"},
        {
            "segment": "core",
            "target_avg_order_value": "500",
            "target_returns_pct": "4",
            "target_self_service_pct": "60",
        },
    ]
    response = api_as(tenant_a.manager).put(tiers_url(tenant_a), body, format="json")
    assert response.status_code == 200, response.json()
    by = {p["segment"]: p for p in response.json()}
    assert by["opportunistic"]["works_towards"] == "service_drain"
    assert "less profitable" in by["opportunistic"]["ladder_warning"]
    assert by["core"]["ladder_warning"] is None and by["core"]["works_towards"] == ""
    assert by["core"]["target_avg_order_value"] == "500.00" and by["core"]["target_returns_pct"] == "4.00"
    # The manager's page says it too.
    html = login(tenant_a.manager).get(reverse("tier-policies", kwargs={"tenant": tenant_a.slug})).content.decode()
    assert "ladder-warning" in html and "less profitable" in html


def edit_url(t, segment):
    return reverse("tier-policy-edit", kwargs={"tenant": t.slug, "segment": segment})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("segment", "changes", "label", "message"),
    [
        ("core", {"works_towards": "service_drain"}, "Customers of this segment work towards the tier of", "circle"),
        ("marginal", {"works_towards": "lapsed"}, "Customers of this segment work towards the tier of", "valid choice"),
        ("core", {"target_returns_pct": "120"}, "Target: returns, % of lines (at most)", "between 0 and 100"),
        ("core", {"target_avg_order_value": "-3"}, "Target: average order value (at least)", "Must not be negative."),
        ("core", {"target_self_service_pct": "101"}, "Target: orders on the web or EDI, % (at least)", "between 0"),
    ],
)
def test_form_bad_input_is_a_form_error_naming_the_field(tenant_a, segment, changes, label, message):
    response = login(tenant_a.manager).post(
        edit_url(tenant_a, segment), form_data(policy(tenant_a, segment), **changes)
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f"{label}: " in html and message in html
    with scopes_disabled():
        assert not TierPolicyChange.objects.filter(distributor=tenant_a.distributor).exists()


@pytest.mark.django_db
def test_form_saves_a_less_profitable_target_with_a_warning(tenant_a):
    client = login(tenant_a.manager)
    silver = policy(tenant_a, "opportunistic")
    response = client.post(
        edit_url(tenant_a, "opportunistic"), form_data(silver, works_towards="service_drain"), follow=True
    )
    assert response.status_code == 200
    assert "a tier of less profitable customers" in response.content.decode()
    silver.refresh_from_db()
    assert silver.works_towards == "service_drain"


@pytest.mark.django_db
def test_targets_may_not_be_easier_up_the_ladder(tenant_a):
    # Silver climbs to Platinum on buying targets, Gold on profit ones.
    api = api_as(tenant_a.manager)
    low = api.put(tiers_url(tenant_a), [{"segment": "core", "target_revenue_12m": "5000"}], format="json")
    assert low.status_code == 400 and "below the lower tier's (Silver" in low.json()["core"]["target_revenue_12m"][0]
    slow = api.put(tiers_url(tenant_a), [{"segment": "core", "target_days_to_pay": "60"}], format="json")
    assert slow.status_code == 400 and "above the lower tier's (Gold" in slow.json()["core"]["target_days_to_pay"][0]
    # Gold's buying targets are not on its climb (its customers are shown profit behaviours).
    ok = api.put(tiers_url(tenant_a), [{"segment": "service_drain", "target_revenue_12m": "90000"}], format="json")
    assert ok.status_code == 200
    with scopes_disabled():
        assert (
            TierPolicy.objects.get(distributor=tenant_a.distributor, segment="service_drain").target_revenue_12m
            == 90000
        )


def test_a_tier_listed_twice_or_a_body_that_is_not_a_list_is_refused(tenant_a):
    """Two entries for one tier (the last won silently, changing what customers are shown) and a
    single object instead of the documented list are 400s; nothing is saved."""
    api = api_as(tenant_a.manager)
    twice = [{"segment": "core", "tier_name": "A"}, {"segment": "core", "tier_name": "B"}]
    response = api.put(tiers_url(tenant_a), twice, format="json")
    assert response.status_code == 400 and "core is listed twice" in str(response.json()["segment"])
    assert response.json()["detail"].startswith("segment: ")  # every error body carries a sentence
    single = api.put(tiers_url(tenant_a), {"segment": "core", "tier_name": "C"}, format="json")
    assert single.status_code == 400 and "list of tiers" in single.json()["detail"]
    with scopes_disabled():
        names = set(TierPolicy.objects.filter(distributor=tenant_a.distributor).values_list("tier_name", flat=True))
    assert not names & {"A", "B", "C"}
