"""Tier policies: defaults on first access, audited edits, validation naming the field, API."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from segments.models import StratificationProfile, TierPolicy, TierPolicyChange
from tests.conftest import api_as

from .conftest import login

pytestmark = pytest.mark.django_db


def edit_url(tenant, segment):
    return reverse("tier-policy-edit", kwargs={"tenant": tenant.slug, "segment": segment})


def form_data(policy: TierPolicy, **changes):
    data = {
        "tier_name": policy.tier_name,
        "rank": policy.rank,
        "description": policy.description,
        "sales_coverage": policy.sales_coverage,
        "free_shipping_threshold": policy.free_shipping_threshold if policy.free_shipping_threshold is not None else "",
        "discount_pct": policy.discount_pct,
        "payment_terms_days": policy.payment_terms_days,
        "target_revenue_12m": policy.target_revenue_12m if policy.target_revenue_12m is not None else "",
        "target_orders_12m": policy.target_orders_12m if policy.target_orders_12m is not None else "",
        "target_categories": policy.target_categories if policy.target_categories is not None else "",
        "target_days_to_pay": policy.target_days_to_pay if policy.target_days_to_pay is not None else "",
        "playbook": policy.playbook,
        "works_towards": policy.works_towards,
    }
    for field in ("target_avg_order_value", "target_returns_pct", "target_self_service_pct"):
        data[field] = getattr(policy, field) if getattr(policy, field) is not None else ""
    if policy.special_orders_allowed:
        data["special_orders_allowed"] = "on"
    data.update(changes)
    return data


def policy(tenant, segment):
    with scopes_disabled():
        return TierPolicy.objects.get(distributor=tenant.distributor, segment=segment)


def test_four_default_policies_are_created_with_the_tenant_and_reading_writes_nothing(tenant_a, tenant_b):
    # Issue 9: a selector never writes; the defaults come with the tenant (segments.signals).
    with scopes_disabled():
        for tenant in (tenant_a, tenant_b):
            assert TierPolicy.objects.filter(distributor=tenant.distributor).count() == 4
        TierPolicy.objects.filter(distributor=tenant_b.distributor).delete()
    response = login(tenant_a.manager).get(reverse("tier-policies", kwargs={"tenant": tenant_a.slug}))
    assert response.status_code == 200
    assert [p.tier_name for p in response.context["policies"]] == ["Platinum", "Gold", "Silver", "Bronze"]
    login(tenant_b.manager).get(reverse("tier-policies", kwargs={"tenant": tenant_b.slug}))
    with scopes_disabled():
        assert not TierPolicy.objects.filter(distributor=tenant_b.distributor).exists()


def test_manager_edits_a_policy_and_the_change_is_audited(tenant_a):
    client = login(tenant_a.manager)
    client.get(reverse("tier-policies", kwargs={"tenant": tenant_a.slug}))
    gold = policy(tenant_a, "service_drain")
    response = client.post(
        edit_url(tenant_a, "service_drain"), form_data(gold, tier_name="Gold Plus", discount_pct="3")
    )
    assert response.status_code == 302
    gold.refresh_from_db()
    assert gold.tier_name == "Gold Plus" and gold.updated_by == tenant_a.manager
    with scopes_disabled():
        change = TierPolicyChange.objects.get(policy=gold)
    assert change.changes == {"tier_name": ["Gold", "Gold Plus"], "discount_pct": ["2.00", "3"]}
    assert change.changed_by == tenant_a.manager
    listing = client.get(reverse("tier-policies", kwargs={"tenant": tenant_a.slug})).content.decode()
    assert "Gold Plus" in listing and "Tier name (what customers see): Gold → Gold Plus" in listing
    assert "Discount %: 2% → 3%" in listing


def test_changes_log_reads_in_the_form_words_with_money_and_tier_names(tenant_a):
    client = login(tenant_a.manager)
    silver = policy(tenant_a, "opportunistic")
    data = form_data(silver, target_revenue_12m="3007", works_towards="service_drain", rank="7")
    assert client.post(edit_url(tenant_a, "opportunistic"), data).status_code == 302
    listing = client.get(reverse("tier-policies", kwargs={"tenant": tenant_a.slug})).content.decode()
    log = listing[listing.index('id="policy-changes"') :]
    assert "Target: 12-month purchases: $10,000 → $3,007" in log
    assert "Customers of this segment work towards the tier of: Platinum → Gold" in log
    assert "Tier order (1 = top): 3 → 7" in log
    for internal in ("target_revenue_12m", "works_towards", "rank :", "core →", "service_drain", "10000.00"):
        assert internal not in log, internal


@pytest.mark.parametrize(
    ("segment", "changes", "field", "message"),
    [
        ("service_drain", {"discount_pct": "-1"}, "Discount %", "Must not be negative."),
        ("service_drain", {"discount_pct": "150"}, "Discount %", "Must be between 0 and 100."),
        # Issue 12: targets are ordered along the ladder (Silver and Gold climb to Platinum), not by rank.
        ("core", {"target_revenue_12m": "5000"}, "Target: 12-month purchases", "may not be below the lower tier"),
        (
            "core",
            {"target_days_to_pay": "90"},
            "Target: average days to pay (at most)",
            "may not be above the lower tier",
        ),
        ("service_drain", {"target_orders_12m": "-3"}, "Target: orders in 12 months", "greater than or equal to 0"),
        ("service_drain", {"free_shipping_threshold": "-10"}, "Free shipping on orders over", "Must not be negative."),
        # 1 is the top tier: 0 was saved and listed as "0. Silver".
        ("opportunistic", {"rank": "0"}, "Tier order (1 = top)", "The tier order starts at 1, the top tier"),
    ],
)
def test_invalid_values_give_an_error_naming_the_field(tenant_a, segment, changes, field, message):
    client = login(tenant_a.manager)
    client.get(reverse("tier-policies", kwargs={"tenant": tenant_a.slug}))
    # Platinum sits above Silver (10,000 a year) and Gold (40 days to pay), who work towards it.
    tier = policy(tenant_a, segment)
    response = client.post(edit_url(tenant_a, segment), form_data(tier, **changes))
    assert response.status_code == 400
    html = response.content.decode()
    assert f"{field}: " in html and message in html
    with scopes_disabled():
        assert not TierPolicyChange.objects.filter(distributor=tenant_a.distributor).exists()


def test_rep_and_customer_cannot_edit(tenant_a):
    for user in (tenant_a.rep_user, tenant_a.customer_user):
        client = login(user)
        assert client.get(reverse("tier-policies", kwargs={"tenant": tenant_a.slug})).status_code == 403
        assert client.post(edit_url(tenant_a, "core"), {"tier_name": "x"}).status_code == 403


def test_unknown_segment_is_404(tenant_a):
    assert login(tenant_a.manager).get(edit_url(tenant_a, "lapsed")).status_code == 404


def test_api_get_and_put(tenant_a, tenant_b):
    url = f"/api/v1/tenants/{tenant_a.slug}/tier-policies/"
    listing = api_as(tenant_a.rep_user).get(url)
    assert listing.status_code == 200 and [p["segment"] for p in listing.json()][0] == "core"
    assert (
        api_as(tenant_a.rep_user).put(url, {"segment": "core", "discount_pct": "7"}, format="json").status_code == 403
    )
    assert api_as(tenant_a.customer_user).get(url).status_code == 403
    assert api_as(tenant_b.manager).get(url).status_code == 404
    ok = api_as(tenant_a.manager).put(url, [{"segment": "core", "discount_pct": "7.5"}], format="json")
    assert ok.status_code == 200
    assert next(p for p in ok.json() if p["segment"] == "core")["discount_pct"] == "7.50"
    bad = api_as(tenant_a.manager).put(
        url, [{"segment": "marginal", "tier_name": "Basic"}, {"segment": "core", "discount_pct": "101"}], format="json"
    )
    assert bad.status_code == 400
    assert "discount_pct" in bad.json()["core"]
    # All or nothing: the valid change in the same request was not kept.
    assert policy(tenant_a, "marginal").tier_name == "Bronze"
    with scopes_disabled():
        assert TierPolicyChange.objects.filter(distributor=tenant_a.distributor).count() == 1


def test_qualification_end_must_be_after_today(tenant_a):
    # Before: 2001-01-01 was saved and scorecards read "Spend $42,137 more by Jan 1, 2001".
    client = login(tenant_a.manager)
    page = reverse("tier-policies", kwargs={"tenant": tenant_a.slug})
    today = timezone.localdate()
    for value in ("2001-01-01", today.isoformat()):
        response = client.post(page, {"qualification_end": value})
        assert response.status_code == 400
        html = response.content.decode()
        assert "Qualification period ends: Choose a date after today" in html
        with scopes_disabled():
            assert StratificationProfile.objects.get(distributor=tenant_a.distributor).qualification_end is None
    # Nor further off than three years (9999-12-31 was saved).
    for value in ("9999-12-31", (today + timedelta(days=3 * 366 + 1)).isoformat()):
        response = client.post(page, {"qualification_end": value})
        assert response.status_code == 400
        assert "Qualification period ends: Choose a date at most 3 years ahead (by " in response.content.decode()
        with scopes_disabled():
            assert StratificationProfile.objects.get(distributor=tenant_a.distributor).qualification_end is None
    tomorrow = today + timedelta(days=1)
    assert client.post(page, {"qualification_end": tomorrow.isoformat()}).status_code == 302
    assert client.post(page, {"qualification_end": (today + timedelta(days=2 * 365)).isoformat()}).status_code == 302
    assert client.post(page, {"qualification_end": ""}).status_code == 302  # empty: the next scheduled run
    with scopes_disabled():
        assert StratificationProfile.objects.get(distributor=tenant_a.distributor).qualification_end is None


@pytest.mark.parametrize("name", ["Silver", "silver", " SILVER "])
def test_a_tier_name_another_tier_has_is_refused_on_the_page_and_the_api(tenant_a, name):
    client = login(tenant_a.manager)
    bronze = policy(tenant_a, "marginal")
    response = client.post(edit_url(tenant_a, "marginal"), form_data(bronze, tier_name=name))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Tier name (what customers see): Another tier is already named Silver" in html
    url = f"/api/v1/tenants/{tenant_a.slug}/tier-policies/"
    bad = api_as(tenant_a.manager).put(url, [{"segment": "marginal", "tier_name": name}], format="json")
    assert bad.status_code == 400
    assert bad.json()["marginal"] == {
        "tier_name": ["Another tier is already named Silver: give each tier its own name."]
    }
    assert policy(tenant_a, "marginal").tier_name == "Bronze"
    # Two tiers swapping names in one request is fine: each is checked against the others as they will be.
    ok = api_as(tenant_a.manager).put(
        url,
        [{"segment": "marginal", "tier_name": "Silver"}, {"segment": "opportunistic", "tier_name": "Bronze"}],
        format="json",
    )
    assert ok.status_code == 200
    assert (policy(tenant_a, "marginal").tier_name, policy(tenant_a, "opportunistic").tier_name) == ("Silver", "Bronze")


def test_payment_terms_are_bounded_on_the_page_and_the_api(tenant_a):
    client = login(tenant_a.manager)
    gold = policy(tenant_a, "service_drain")
    message = "Payment terms must be between 0 and 3,650 days."
    response = client.post(edit_url(tenant_a, "service_drain"), form_data(gold, payment_terms_days="99999999999"))
    assert response.status_code == 400
    assert f"Payment terms (days): {message}" in response.content.decode()
    url = f"/api/v1/tenants/{tenant_a.slug}/tier-policies/"
    for value in (99999999999, "3651"):
        bad = api_as(tenant_a.manager).put(
            url, [{"segment": "service_drain", "payment_terms_days": value}], format="json"
        )
        assert bad.status_code == 400 and bad.json()["service_drain"] == {"payment_terms_days": [message]}
    assert policy(tenant_a, "service_drain").payment_terms_days == 30
    ok = api_as(tenant_a.manager).put(url, [{"segment": "service_drain", "payment_terms_days": 3650}], format="json")
    assert ok.status_code == 200 and policy(tenant_a, "service_drain").payment_terms_days == 3650


def test_tier_order_starts_at_one_on_the_api_too(tenant_a):
    url = f"/api/v1/tenants/{tenant_a.slug}/tier-policies/"
    bad = api_as(tenant_a.manager).put(url, [{"segment": "opportunistic", "rank": 0}], format="json")
    assert bad.status_code == 400
    assert bad.json()["opportunistic"] == {"rank": ["The tier order starts at 1, the top tier: use 1 or more."]}
    assert policy(tenant_a, "opportunistic").rank == 3


def test_ladder_messages_show_money_and_an_empty_target_above_a_set_one_is_refused(tenant_a):
    client = login(tenant_a.manager)
    platinum = policy(tenant_a, "core")
    response = client.post(edit_url(tenant_a, "core"), form_data(platinum, target_revenue_12m="5000"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "may not be below the lower tier&#x27;s (Silver: at least $10,000)" in html and "10000.00" not in html
    # An empty target asks nothing: Platinum without an orders target would ask less than Silver (6).
    response = client.post(edit_url(tenant_a, "core"), form_data(platinum, target_orders_12m=""))
    assert response.status_code == 400
    assert "Target: orders in 12 months: The 12-month orders target may not be empty while the lower tier" in (
        response.content.decode()
    )
    assert policy(tenant_a, "core").target_orders_12m == 24
    url = f"/api/v1/tenants/{tenant_a.slug}/tier-policies/"
    bad = api_as(tenant_a.manager).put(url, [{"segment": "core", "target_orders_12m": None}], format="json")
    assert bad.status_code == 400 and "may not be empty" in bad.json()["core"]["target_orders_12m"][0]
    # Both cleared together is consistent (neither asks for orders); then Silver may not set one alone.
    both = [{"segment": s, "target_orders_12m": None} for s in ("core", "opportunistic", "service_drain")]
    assert api_as(tenant_a.manager).put(url, both, format="json").status_code == 200
    silver = api_as(tenant_a.manager).put(url, [{"segment": "opportunistic", "target_orders_12m": 3}], format="json")
    assert silver.status_code == 400
    assert "higher tier's is empty (Platinum: no target)" in silver.json()["opportunistic"]["target_orders_12m"][0]


def test_a_ladder_saved_before_the_empty_target_rule_still_takes_unrelated_edits(tenant_a):
    """A tenant whose top tier left its orders target empty (allowed before) while the tier below sets
    one: an edit of anything else on that tier still saves; touching the orders target is refused."""
    with scopes_disabled():
        TierPolicy.objects.filter(distributor=tenant_a.distributor, segment="core").update(target_orders_12m=None)
        TierPolicy.objects.filter(distributor=tenant_a.distributor, segment="opportunistic").update(target_orders_12m=6)
    url = f"/api/v1/tenants/{tenant_a.slug}/tier-policies/"
    manager = api_as(tenant_a.manager)
    edit = manager.put(url, [{"segment": "opportunistic", "discount_pct": "3"}], format="json")
    assert edit.status_code == 200, edit.content
    touched = manager.put(url, [{"segment": "opportunistic", "target_orders_12m": 5}], format="json")
    assert touched.status_code == 400 and "higher tier's is empty" in str(touched.json())
