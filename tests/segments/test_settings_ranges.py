"""Absurd model settings are refused by the API (400 naming the field, nothing saved), for the
tenant's settings and for a run's what-if overrides; values at the edges of the ranges are accepted."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from segments.models import SettingsChange, StratificationProfile, StratificationRun
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

# (field named in the errors, the settings as raw JSON text: numbers stay what JSON makes of them)
ABSURD = [
    ("window_days", '{"window_days": 1e300}'),
    ("window_days", '{"window_days": "99999999999999999999"}'),
    ("window_days", '{"window_days": 99999999999999999999}'),
    ("window_days", '{"window_days": 3651}'),
    ("window_days", '{"window_days": 6}'),
    ("window_days", '{"window_days": -30}'),
    ("window_days", '{"window_days": "NaN"}'),
    ("window_days", '{"window_days": true}'),
    ("window_days", '{"window_days": "a year"}'),
    ("cost_per_line", '{"cost_per_line": "1e400"}'),
    ("cost_per_line", '{"cost_per_line": 1e400}'),
    ("cost_per_line", '{"cost_per_line": 1e300}'),
    ("cost_per_line", '{"cost_per_line": "1000000.01"}'),
    ("cost_per_line", '{"cost_per_line": "0.001"}'),
    ("cost_per_line", '{"cost_per_line": "Infinity"}'),
    ("cost_per_line", '{"cost_per_line": "NaN"}'),
    ("cost_per_line", '{"cost_per_line": false}'),
    ("cost_per_line", '{"cost_per_line": "2,50"}'),
    ("cost_per_order", '{"cost_per_order": "99999999999999999999"}'),
    ("cost_per_return", '{"cost_per_return": "-0.01"}'),
    ("cost_per_special_order", '{"cost_per_special_order": [30]}'),
    ("default_delivery_cost", '{"default_delivery_cost": 1e7}'),
    ("delivery_cost.truck", '{"delivery_cost": {"truck": "1e400"}}'),
    ("delivery_cost.truck", '{"delivery_cost": {"truck": 12.345}}'),
    ("ar_carrying_rate", '{"ar_carrying_rate": "1e400"}'),
    ("ar_carrying_rate", '{"ar_carrying_rate": 1.5}'),
    ("value_weights.revenue", '{"value_weights": {"revenue": 1e300}}'),
    ("value_weights.revenue", '{"value_weights": {"revenue": 101}}'),
    ("value_weights.revenue", '{"value_weights": {"revenue": "inf"}}'),
    ("profit_weights.net_profit", '{"profit_weights": {"net_profit": true}}'),
    ("value_top_share", '{"value_top_share": 1e-400}'),
    ("profit_top_share", '{"profit_top_share": "NaN"}'),
    ("profit_top_share", '{"profit_top_share": 1e300}'),
]
BEFORE = {"window_days": 180, "cost_per_line": "3.00"}


def url(name, tenant):
    return reverse(name, kwargs={"tenant": tenant.slug})


def _state(distributor):
    with scopes_disabled():
        profile = StratificationProfile.objects.filter(distributor=distributor).first()
        return (profile.settings if profile else None), SettingsChange.objects.filter(distributor=distributor).count()


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(("field", "body"), ABSURD, ids=[body for _, body in ABSURD])
def test_absurd_settings_are_400_naming_the_field_and_save_nothing(tenant_a, method, field, body):
    client = api_as(tenant_a.manager)
    assert client.put(url("api-model-settings", tenant_a), {"settings": BEFORE}, format="json").status_code == 200
    before = _state(tenant_a.distributor)

    send = getattr(client, method)
    response = send(url("api-model-settings", tenant_a), f'{{"settings": {body}}}', content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert all(isinstance(m, str) and m for m in response.json()["errors"][field])
    # As every endpoint answers a 400: the field's messages under its name, the first in `detail`.
    assert response.json()[field] == response.json()["errors"][field]
    assert response.json()["detail"].startswith(f"{next(iter(response.json()['errors']))}: ")
    assert _state(tenant_a.distributor) == before
    # The settings in force are still the ones saved before.
    assert client.get(url("api-model-settings", tenant_a)).json()["settings"]["window_days"] == 180


@pytest.mark.parametrize(("field", "body"), ABSURD, ids=[body for _, body in ABSURD])
def test_a_run_with_absurd_what_if_settings_is_refused(tenant_a, field, body):
    client = api_as(tenant_a.manager)
    response = client.post(url("api-run-list", tenant_a), f'{{"settings": {body}}}', content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    with scopes_disabled():
        assert not StratificationRun.objects.filter(distributor=tenant_a.distributor).exists()


def test_the_edges_of_the_ranges_are_accepted(tenant_a):
    client = api_as(tenant_a.manager)
    edges = [
        {"window_days": 7, "cost_per_line": 0, "ar_carrying_rate": 0, "value_top_share": 0.01},
        {
            "window_days": "3650",
            "cost_per_order": 1_000_000,
            "cost_per_line": "0.01",
            "default_delivery_cost": "1000000.00",
            "delivery_cost": {"truck": 999999.99},
            "ar_carrying_rate": "1",
            "value_weights": {"revenue": 100, "orders": 0},
            "profit_weights": {"net_profit": 0.5},
            "profit_top_share": 0.99,
        },
    ]
    for settings in edges:
        response = client.put(
            url("api-model-settings", tenant_a), json.dumps({"settings": settings}), content_type="application/json"
        )
        assert response.status_code == 200, (settings, response.content)


def test_the_delivery_costs_name_each_ship_method_once_within_the_lines_length():
    """A ship method priced twice (the second silently won) or longer than a line's ship method (it
    could never match one) is refused naming its line; a valid list is read as written."""
    from segments.forms import SHIP_METHOD_CHARS, ModelSettingsForm

    def errors(text: str) -> list[str]:
        form = ModelSettingsForm(data={"delivery_cost": text})
        form.is_valid()
        return form.errors.get("delivery_cost", [])

    assert errors("delivery = 5\nparcel = 3") == []
    assert errors("delivery = 5\ndelivery = 7") == ["Line 2: 'delivery' is priced twice; keep one line for it."]
    long = "x" * (SHIP_METHOD_CHARS + 1)
    too_long = f"Line 1: a ship method has at most {SHIP_METHOD_CHARS} characters, as on the lines."
    assert errors(f"{long} = 5") == [too_long]
    form = ModelSettingsForm(data={"delivery_cost": "delivery = 5\n\n parcel = 3.50 "})
    form.is_valid()
    assert form.cleaned_data["delivery_cost"] == {"delivery": "5", "parcel": "3.50"}
