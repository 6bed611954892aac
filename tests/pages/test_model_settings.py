"""Model settings page: edit, preview (what-if run), history; the run page compares and publishes."""

import re

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from segments.forms import ModelSettingsForm
from segments.models import SettingsChange, StratificationProfile, StratificationRun
from segments.services import settings_effective
from stratify.engine.settings import DEFAULT_VALUE_WEIGHTS
from tests import factories as f

from .conftest import add_sales, login, make_run

pytestmark = pytest.mark.django_db


def url(tenant, name="model-settings", **kw):
    return reverse(name, kwargs={"tenant": tenant.slug, **kw})


def current_form_data(tenant, **changes):
    with scopes_disabled():
        initial = ModelSettingsForm.initial_from(settings_effective(distributor=tenant.distributor).to_dict())
    data = {k: ("" if v is None else v) for k, v in initial.items()}
    data.update(changes)
    return data


def test_page_shows_the_effective_settings(tenant_a):
    response = login(tenant_a.manager).get(url(tenant_a))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["window_days"] == 365
    assert form.initial["value_w_revenue"] == 0.35
    assert 'name="value_w_revenue"' in response.content.decode()


def test_save_records_history(tenant_a):
    client = login(tenant_a.manager)
    response = client.post(url(tenant_a), {**current_form_data(tenant_a, value_w_revenue="0.5"), "action": "save"})
    assert response.status_code == 302
    with scopes_disabled():
        change = SettingsChange.objects.get(distributor=tenant_a.distributor)
        assert change.changes["value_weights"][1]["revenue"] == 0.5
        assert (
            StratificationProfile.objects.get(distributor=tenant_a.distributor).settings["value_weights"]["revenue"]
            == 0.5
        )
    assert "Value weight: Revenue: 0.35 → 0.5" in client.get(url(tenant_a)).content.decode()


def test_preview_queues_an_unpublished_run_with_the_changes_and_saves_nothing(tenant_a):
    response = login(tenant_a.manager).post(
        url(tenant_a), {**current_form_data(tenant_a, window_days="180"), "action": "preview"}
    )
    with scopes_disabled():
        run = StratificationRun.objects.get(distributor=tenant_a.distributor)
        assert not SettingsChange.objects.filter(distributor=tenant_a.distributor).exists()
    assert response.status_code == 302 and response["Location"] == url(tenant_a, "run-detail", run_id=run.number)
    assert run.publish_requested is False and run.settings["window_days"] == 180


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"window_days": "0"}, "Window (days): "),
        ({"value_top_share": "150"}, "High value: top % of customers: "),
        ({"cost_per_order": "-2"}, "Cost per order: "),
        ({"profit_w_net_profit": "-1"}, "Profit weight: Net profit: "),
        ({"delivery_cost": "truck = lots"}, "Delivery cost per ship method: Line 1"),
    ],
)
def test_invalid_settings_name_the_field(tenant_a, changes, expected):
    response = login(tenant_a.manager).post(url(tenant_a), {**current_form_data(tenant_a, **changes), "action": "save"})
    assert response.status_code == 400
    assert expected in response.content.decode()


def test_all_zero_weights_on_an_axis_is_an_error_from_the_engine(tenant_a):
    zeros = {"profit_w_net_profit": "0", "profit_w_net_margin_pct": "0"}
    response = login(tenant_a.manager).post(url(tenant_a), {**current_form_data(tenant_a, **zeros), "action": "save"})
    assert response.status_code == 400
    assert "at least one weight must be greater than 0" in response.content.decode()


def test_run_page_shows_who_moves_and_publishes(tenant_a):
    with scopes_disabled():
        extra = f.CustomerFactory(distributor=tenant_a.distributor, customer_id="alpha-X")
    a, b = tenant_a.assigned_customer, tenant_a.unassigned_customer
    published = make_run(tenant_a.distributor, {a: {"segment": "core"}, b: {"segment": "marginal"}})
    preview = make_run(
        tenant_a.distributor,
        {a: {"segment": "service_drain"}, b: {"segment": "marginal"}, extra: {"segment": "core"}},
        publish=False,
    )
    client = login(tenant_a.manager)
    response = client.get(url(tenant_a, "run-detail", run_id=preview.number))
    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert comparison["other"] == published.number and comparison["moved_count"] == 2
    moves = {m["customer_id"]: (m["from"], m["to"]) for m in response.context["moves"]}
    assert moves == {"alpha-C1": ("core", "service_drain"), "alpha-X": ("", "core")}
    assert 'id="publish-run"' in response.content.decode()
    assert client.post(url(tenant_a, "run-detail", run_id=preview.number)).status_code == 302
    with scopes_disabled():
        profile = StratificationProfile.objects.get(distributor=tenant_a.distributor)
    assert profile.current_run_id == preview.pk and profile.previous_run_id == published.pk


def test_model_pages_are_for_managers_and_runs_are_tenant_scoped(tenant_a, tenant_b):
    run = make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "core"}})
    for user in (tenant_a.rep_user, tenant_a.customer_user):
        assert login(user).get(url(tenant_a)).status_code == 403
        assert login(user).get(url(tenant_a, "run-detail", run_id=run.number)).status_code == 403
    assert login(tenant_b.manager).get(url(tenant_b, "run-detail", run_id=run.number)).status_code == 404


def test_thresholds_are_entered_as_percentages(tenant_a):
    """Item 7: the page shows 30 for a stored 0.30, and 25 entered is stored as 0.25."""
    client = login(tenant_a.manager)
    html = client.get(url(tenant_a)).content.decode()
    assert 'name="value_top_share" value="30"' in html and 'name="profit_top_share" value="30"' in html
    response = client.post(url(tenant_a), {**current_form_data(tenant_a, value_top_share="25"), "action": "save"})
    assert response.status_code == 302
    with scopes_disabled():
        assert settings_effective(distributor=tenant_a.distributor).value_top_share == 0.25
    assert 'name="value_top_share" value="25"' in client.get(url(tenant_a)).content.decode()
    # A fraction typed out of habit is below the 1% floor: an error naming the field, nothing saved.
    response = client.post(url(tenant_a), {**current_form_data(tenant_a, profit_top_share="0.3"), "action": "save"})
    assert response.status_code == 400 and "High profit: top % of customers: " in response.content.decode()


def test_weights_show_their_share_of_the_axis(tenant_a):
    """Item 7: beside each weight, its part of the axis (weights are relative)."""
    html = login(tenant_a.manager).get(url(tenant_a)).content.decode()
    total = sum(DEFAULT_VALUE_WEIGHTS.values())
    for factor, weight in DEFAULT_VALUE_WEIGHTS.items():
        assert f'id="share-value_w_{factor}">{round(weight / total * 100)}%<' in html
    assert 'id="share-profit_w_net_profit">60%<' in html and 'id="share-profit_w_revenue">0%<' in html
    # A page shown again with errors keeps the shares of what was typed.
    response = login(tenant_a.manager).post(
        url(tenant_a),
        {**current_form_data(tenant_a, profit_w_net_profit="3", profit_w_net_margin_pct="1", window_days="0")},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="share-profit_w_net_profit">75%<' in html and 'id="share-profit_w_net_margin_pct">25%<' in html


def test_schedule_is_set_on_the_model_page(tenant_a):
    """Item 7: the schedule (off, weekly, monthly) has its own form on the model page."""
    client = login(tenant_a.manager)
    assert 'id="schedule-form"' in client.get(url(tenant_a)).content.decode()
    response = client.post(url(tenant_a), {"action": "schedule", "schedule": "weekly"}, follow=True)
    assert "Schedule saved: weekly." in response.content.decode()
    assert '<option value="weekly" selected>' in response.content.decode()
    with scopes_disabled():
        assert StratificationProfile.objects.get(distributor=tenant_a.distributor).schedule == "weekly"
    response = client.post(url(tenant_a), {"action": "schedule", "schedule": "hourly"}, follow=True)
    assert "Choose a schedule" in response.content.decode()
    with scopes_disabled():
        assert StratificationProfile.objects.get(distributor=tenant_a.distributor).schedule == "weekly"
    assert login(tenant_a.rep_user).post(url(tenant_a), {"action": "schedule", "schedule": "off"}).status_code == 403


def test_run_page_names_the_settings_that_differ_in_words(tenant_a):
    """Item 7: the what-if diff uses the settings' labels, never their keys."""
    a = tenant_a.assigned_customer
    base = {"window_days": 365, "value_top_share": 0.3, "profit_top_share": 0.3, "value_weights": {"revenue": 0.35}}
    make_run(tenant_a.distributor, {a: {"segment": "core"}}, settings=base)
    what_if = {**base, "value_top_share": 0.25, "value_weights": {"revenue": 0.9, "orders": 0.1}}
    preview = make_run(tenant_a.distributor, {a: {"segment": "core"}}, settings=what_if, publish=False)
    html = login(tenant_a.manager).get(url(tenant_a, "run-detail", run_id=preview.number)).content.decode()
    diff = re.search(r'<p class="small" id="settings-diff">(.*?)</p>', html, re.S).group(1)
    assert "High value: top % of customers 30% → 25%" in diff
    assert "Value weight: Revenue 0.35 → 0.9" in diff and "Value weight: Orders 0 → 0.1" in diff
    assert "value_top_share" not in diff and "value_weights" not in diff and "<code>" not in diff


@pytest.mark.parametrize(
    "changes",
    [{"value_w_revenue": "NaN"}, {"profit_w_net_profit": "Infinity"}, {"delivery_cost": "truck = NaN"}],
)
def test_non_finite_numbers_are_form_errors_not_500s(tenant_a, changes):
    response = login(tenant_a.manager).post(url(tenant_a), {**current_form_data(tenant_a, **changes), "action": "save"})
    assert response.status_code == 400
    with scopes_disabled():
        assert not SettingsChange.objects.filter(distributor=tenant_a.distributor).exists()


def test_a_blank_weight_is_required_not_zero(tenant_a):
    # Before: clearing "Value weight: Revenue" saved 0 with "Model settings saved".
    client = login(tenant_a.manager)
    response = client.post(url(tenant_a), {**current_form_data(tenant_a, value_w_revenue=""), "action": "save"})
    assert response.status_code == 400
    assert "Value weight: Revenue: This field is required." in response.content.decode()
    with scopes_disabled():
        assert not SettingsChange.objects.filter(distributor=tenant_a.distributor).exists()
    # 0 typed explicitly stays allowed (the engine needs one weight above 0 per axis, which the others give).
    response = client.post(url(tenant_a), {**current_form_data(tenant_a, value_w_revenue="0"), "action": "save"})
    assert response.status_code == 302
    with scopes_disabled():
        assert "revenue" not in settings_effective(distributor=tenant_a.distributor).to_dict()["value_weights"]


def test_the_window_minimum_is_the_engines_on_both_forms():
    from segments.forms import RunForm
    from stratify.engine.settings import WINDOW_DAYS_MAX, WINDOW_DAYS_MIN

    for form_class in (ModelSettingsForm, RunForm):
        field = form_class().fields["window_days"]
        assert (field.min_value, field.max_value) == (WINDOW_DAYS_MIN, WINDOW_DAYS_MAX)


@pytest.mark.parametrize("days", ["1", "6"])
def test_a_window_below_the_minimum_is_refused_by_the_form(tenant_a, days):
    response = login(tenant_a.manager).post(
        url(tenant_a), {**current_form_data(tenant_a, window_days=days), "action": "save"}
    )
    assert response.status_code == 400
    assert "Window (days): Ensure this value is greater than or equal to 7." in response.content.decode()


def test_run_form_refuses_an_as_of_before_the_first_invoice(tenant_a):
    with scopes_disabled():
        add_sales(tenant_a.distributor, tenant_a.assigned_customer)
    client = login(tenant_a.manager)
    response = client.post(url(tenant_a, "run-request"), {"as_of": "1900-01-01", "action": "publish"}, follow=True)
    html = response.content.decode()
    assert "The as-of date may not be before the first invoice date" in html
    with scopes_disabled():
        assert not StratificationRun.objects.filter(distributor=tenant_a.distributor).exists()
