"""The runs and settings API: manager-only, tenant-isolated, 202 on start, 400 naming bad fields."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from segments.models import StratificationRun
from stratify.engine import FACTORS
from tests.conftest import api_as
from tests.segments.helpers import make_catalog, simple_lines, write_lines


@pytest.fixture
def loaded(tenant_a):
    customers, products = make_catalog(tenant_a.distributor)
    write_lines(tenant_a.distributor, simple_lines(customers, products))
    return tenant_a


def url(name, tenant, **kwargs):
    return reverse(name, kwargs={"tenant": tenant.slug, **kwargs})


def start(client, tenant, capture, **body):
    with capture(execute=True):  # the job is dispatched on commit (eager in tests)
        response = client.post(url("api-run-list", tenant), body, format="json")
    return response


def test_manager_runs_publishes_and_reads_scores(loaded, django_capture_on_commit_callbacks):
    client = api_as(loaded.manager)
    response = start(client, loaded, django_capture_on_commit_callbacks, publish=False)
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    assert response.json()["status"] == "queued"

    detail = client.get(url("api-run-detail", loaded, pk=run_id)).json()
    assert detail["status"] == "succeeded" and detail["progress"] == 100
    assert detail["as_of"] == "2026-06-30" and detail["settings"]["window_days"] == 365
    assert sum(detail["counts"].values()) == 12 and detail["counts"]["lapsed"] == 1
    assert set(detail["totals"]["core"]) == {"count", "revenue", "gross_margin", "cost_to_serve", "net_profit"}
    assert detail["is_current"] is False and detail["timings"]["total_seconds"] >= 0

    scores = client.get(url("api-run-scores", loaded, pk=run_id)).json()
    assert scores["count"] == 12
    row = scores["results"][0]
    for key in ("customer_id", "segment", "previous_segment", "value_score", "profit_rank", *FACTORS, "explanation"):
        assert key in row
    core = client.get(url("api-run-scores", loaded, pk=run_id), {"segment": "lapsed"}).json()
    assert core["count"] == 1 and core["results"][0]["segment"] == "lapsed"

    assert client.post(url("api-run-publish", loaded, pk=run_id)).status_code == 200
    again = client.post(url("api-run-publish", loaded, pk=run_id))
    assert again.status_code == 400 and "already published" in again.json()["detail"]
    assert client.get(url("api-run-detail", loaded, pk=run_id)).json()["is_current"] is True

    listing = client.get(url("api-run-list", loaded)).json()
    assert [r["id"] for r in listing["results"]] == [run_id]


def test_preview_with_overrides_and_compare(loaded, django_capture_on_commit_callbacks):
    client = api_as(loaded.manager)
    published = start(client, loaded, django_capture_on_commit_callbacks, publish=True).json()["id"]
    preview = start(
        client, loaded, django_capture_on_commit_callbacks, settings={"value_weights": {"recency_days": 1}}
    ).json()["id"]
    comparison = client.get(url("api-run-compare", loaded, pk=preview)).json()
    assert comparison["other"] == published and comparison["run"] == preview
    assert sum(sum(r.values()) for r in comparison["matrix"].values()) == 12
    explicit = client.get(url("api-run-compare", loaded, pk=preview), {"other": published}).json()
    assert explicit["moves"] == comparison["moves"]
    with scopes_disabled():
        assert StratificationRun.objects.get(distributor=loaded.distributor, number=preview).published_at is None


def test_bad_run_settings_are_400_naming_the_field(loaded):
    client = api_as(loaded.manager)
    response = client.post(
        url("api-run-list", loaded), {"settings": {"value_top_share": 0, "value_weights": {"nope": 1}}}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"value_top_share", "value_weights.nope"}
    with scopes_disabled():
        assert not StratificationRun.objects.exists()


def test_a_run_request_with_an_unknown_field_is_400_naming_it(loaded):
    """A setting beside `settings` rather than in it started a run with the saved settings (202)."""
    client = api_as(loaded.manager)
    for body in ({"window_days": 0}, {"overrides": {"x": 1}, "publish": True}):
        response = client.post(url("api-run-list", loaded), body, format="json")
        assert response.status_code == 400, body
        wrong = next(k for k in body if k != "publish")
        assert "Unknown field" in str(response.json()) and wrong in str(response.json())
    with scopes_disabled():
        assert not StratificationRun.objects.exists()


@pytest.mark.parametrize(
    ("as_of", "words"), [("1900-01-01", "before the first invoice date"), ("2999-01-01", "after today")]
)
def test_run_as_of_outside_the_invoices_is_400_naming_it(loaded, as_of, words):
    response = api_as(loaded.manager).post(url("api-run-list", loaded), {"as_of": as_of}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["as_of"] and words in response.json()["errors"]["as_of"][0]
    with scopes_disabled():
        assert not StratificationRun.objects.exists()


def test_settings_get_put_and_history(tenant_a):
    client = api_as(tenant_a.manager)
    body = client.get(url("api-model-settings", tenant_a)).json()
    assert body["settings"]["cost_per_order"] == "20.00" and body["overrides"] == {} and body["schedule"] == "off"

    bad = client.put(url("api-model-settings", tenant_a), {"settings": {"cost_per_return": -1}}, format="json")
    assert bad.status_code == 400 and "cost_per_return" in bad.json()["errors"]
    bad = client.put(url("api-model-settings", tenant_a), {"schedule": "daily"}, format="json")
    assert bad.status_code == 400 and "schedule" in bad.json()["errors"]

    ok = client.put(
        url("api-model-settings", tenant_a),
        {"settings": {"delivery_cost": {"truck": "40"}}, "schedule": "weekly"},
        format="json",
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["settings"]["delivery_cost"] == {"truck": "40"} and ok.json()["schedule"] == "weekly"
    history = client.get(url("api-model-settings-history", tenant_a)).json()
    assert history["count"] == 1
    assert history["results"][0]["changes"] == {"delivery_cost": [{}, {"truck": "40"}]}
    assert history["results"][0]["changed_by"] == tenant_a.manager.username


@pytest.mark.parametrize("role", ["rep", "customer"])
def test_reps_and_customers_cannot_run_or_change_settings(loaded, role):
    client = api_as(loaded.users()[role])
    assert client.post(url("api-run-list", loaded), {}, format="json").status_code == 403
    assert client.put(url("api-model-settings", loaded), {"window_days": 10}, format="json").status_code == 403
    assert client.get(url("api-run-list", loaded)).status_code == 403
    assert client.get(url("api-model-settings", loaded)).status_code == 403
    with scopes_disabled():
        assert not StratificationRun.objects.exists()


def test_other_tenant_gets_404(loaded, tenant_b, django_capture_on_commit_callbacks):
    run_id = start(api_as(loaded.manager), loaded, django_capture_on_commit_callbacks).json()["id"]
    outsider = api_as(tenant_b.manager)
    # another tenant's slug: not a member
    assert outsider.get(url("api-run-list", loaded)).status_code == 404
    assert outsider.post(url("api-run-list", loaded), {}, format="json").status_code == 404
    assert outsider.put(url("api-model-settings", loaded), {}, format="json").status_code == 404
    # own slug, another tenant's run id
    for name in ("api-run-detail", "api-run-scores", "api-run-compare"):
        assert outsider.get(url(name, tenant_b, pk=run_id)).status_code == 404, name
    assert outsider.post(url("api-run-publish", tenant_b, pk=run_id)).status_code == 404
