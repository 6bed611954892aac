"""Runs: lifecycle, idempotence, one at a time per tenant, failures, publishing, preview compare,
schedule; on whichever backend the suite runs."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from sales.models import InvoiceLine
from segments import selectors, services
from segments.models import CustomerScore, SettingsChange, StratificationProfile, StratificationRun
from stratify.engine import FACTORS, ModelSettings, aggregate_lines, stratify
from stratify.jobs.models import Job
from stratify.jobs.services import job_execute
from tests.segments.helpers import AS_OF, lines_frame, make_catalog, potentials, simple_lines, write_lines

Status = StratificationRun.Status


@pytest.fixture
def loaded(tenant_a):
    """tenant_a with 12 customers of invoice lines (11 active, 1 lapsed)."""
    customers, products = make_catalog(tenant_a.distributor)
    write_lines(tenant_a.distributor, simple_lines(customers, products))
    return tenant_a


def execute(distributor, **kwargs) -> StratificationRun:
    with scope(distributor=distributor):
        run = services.run_request(distributor=distributor, dispatch=False, **kwargs)
    job_execute(run.job_id)
    with scopes_disabled():
        run.refresh_from_db()
    return run


def expected_result(distributor, model=None, as_of=AS_OF):
    model = model or ModelSettings()
    aggregates, deliveries = aggregate_lines(
        lines_frame(distributor), as_of=as_of, window_days=model.window_days, potential=potentials(distributor)
    )
    return stratify(aggregates, deliveries, model)


def test_run_scores_every_customer_like_the_engine(loaded):
    d = loaded.distributor
    run = execute(d, actor=loaded.manager)
    assert run.status == Status.SUCCEEDED, run.message
    assert run.as_of == AS_OF  # default: the latest invoice date
    assert run.settings == ModelSettings().to_dict()  # the exact, complete settings used
    assert run.published_at is None and run.job.status == Job.Status.SUCCEEDED
    assert set(run.timings) >= {"aggregate_seconds", "engine_seconds", "write_seconds", "total_seconds"}
    expected = expected_result(d)
    with scopes_disabled():
        scores = {s.customer.customer_id: s for s in CustomerScore.objects.filter(run=run).select_related("customer")}
        assert StratificationProfile.objects.get(distributor=d).current_run is None  # preview: not published
    assert len(scores) == len(expected.scores) + len(expected.lapsed) == 12
    for row in expected.scores.to_dict("records"):
        score = scores[row["customer_id"]]
        assert score.segment == row["segment"]
        assert score.value_score == pytest.approx(row["value_score"], abs=1e-12)
        assert score.profit_rank == pytest.approx(row["profit_rank"], abs=1e-12)
        for factor in FACTORS:
            if row[factor] != row[factor]:  # NaN: missing
                assert getattr(score, factor) is None, factor
            else:
                assert getattr(score, factor) == pytest.approx(row[factor], rel=1e-12), factor
        assert score.percentiles["revenue"] == pytest.approx(row["p_revenue"])
        for axis in ("value", "profit"):
            for side in ("positive", "negative"):
                got, want = score.explanation[axis][side], row["explanation"][axis][side]
                assert [e["factor"] for e in got] == [e["factor"] for e in want]
                for g, w in zip(got, want, strict=True):
                    assert g["contribution"] == pytest.approx(w["contribution"], abs=1e-12)
                    assert g["percentile"] == pytest.approx(w["percentile"], abs=1e-12)
        assert score.previous_segment == ""
    for customer_id in expected.lapsed:
        assert scores[customer_id].segment == "lapsed" and scores[customer_id].value_score is None
    for segment, totals in expected.totals.items():
        assert run.totals[segment]["count"] == totals["count"]
        assert run.totals[segment]["revenue"] == str(totals["revenue"].quantize(services.execute.CENT))
    assert run.totals["lapsed"] == {"count": 1}


def approx_tree(value):
    """`value` (the engine's nested dicts and lists) with every float compared to 1e-12."""
    if isinstance(value, dict):
        return {key: approx_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [approx_tree(item) for item in value]
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12, abs=1e-12)
    return value


def test_run_stores_every_percentile_and_the_whole_explanation(loaded):
    d = loaded.distributor
    run = execute(d)
    expected = expected_result(d)
    with scopes_disabled():
        scores = {s.customer.customer_id: s for s in CustomerScore.objects.filter(run=run).select_related("customer")}
    for row in expected.scores.to_dict("records"):
        score = scores[row["customer_id"]]
        assert score.percentiles == approx_tree({f: row[f"p_{f}"] for f in FACTORS})
        assert score.explanation == approx_tree(row["explanation"])
    for customer_id in expected.lapsed:
        assert scores[customer_id].percentiles == {} and scores[customer_id].explanation == {}


def test_deleting_a_run_or_a_customer_deletes_its_scores(loaded):
    """Scores have no database FK constraint: Django's on_delete=CASCADE removes them."""
    d = loaded.distributor
    first, second = execute(d), execute(d)
    with scopes_disabled():
        assert CustomerScore.objects.filter(run=first).count() == 12
        StratificationRun.objects.get(pk=first.pk).delete()
        assert not CustomerScore.objects.filter(run_id=first.number).exists()
        assert CustomerScore.objects.filter(run=second).count() == 12
        customer = CustomerScore.objects.filter(run=second).select_related("customer").first().customer
        customer.delete()
        assert not CustomerScore.objects.filter(customer_id=customer.pk).exists()
        assert CustomerScore.objects.filter(run=second).count() == 11


def test_publish_switches_current_run_and_keeps_previous(loaded):
    d = loaded.distributor
    first = execute(d, publish=True)
    second = execute(d, publish=True)
    with scope(distributor=d):
        assert selectors.current_run(d) == second
        assert selectors.previous_run(d) == first
        first_segments = dict(
            CustomerScore.objects.filter(distributor=d, run=first).values_list("customer_id", "segment")
        )
        for score in CustomerScore.objects.filter(distributor=d, run=second):
            assert score.previous_segment == first_segments[score.customer_id]
        assert selectors.score_list(distributor=d).count() == 12
        # reps see only their customers' scores
        rep_membership = loaded.rep_user.memberships.get(distributor=d)
        assert selectors.score_list(distributor=d, membership=rep_membership).count() == 0


def test_duplicate_delivery_does_nothing(loaded):
    d = loaded.distributor
    run = execute(d)
    with scopes_disabled():
        before = list(CustomerScore.objects.filter(run=run).order_by("pk").values_list("pk", flat=True))
    assert job_execute(run.job_id) is None  # already finished: not claimed again
    with scopes_disabled():
        after = list(CustomerScore.objects.filter(run=run).order_by("pk").values_list("pk", flat=True))
        assert StratificationRun.objects.get(pk=run.pk).finished_at == run.finished_at
    assert before == after


def test_failing_run_leaves_published_results_untouched(loaded, monkeypatch):
    d = loaded.distributor
    published = execute(d, publish=True)
    with scopes_disabled():
        published_scores = list(CustomerScore.objects.filter(run=published).values_list("customer_id", "segment"))

    def boom(*args, **kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(services.execute, "stratify", boom)
    failed = execute(d, publish=True)
    assert failed.status == Status.FAILED and "engine exploded" in failed.message
    with scopes_disabled():
        assert Job.objects.get(pk=failed.job_id).status == Job.Status.FAILED
        assert StratificationProfile.objects.get(distributor=d).current_run_id == published.pk
        assert not CustomerScore.objects.filter(run=failed).exists()
        assert list(CustomerScore.objects.filter(run=published).values_list("customer_id", "segment")) == (
            published_scores
        )


def test_a_failure_while_writing_scores_rolls_back(loaded, monkeypatch):
    d = loaded.distributor
    original = services.execute.write_scores

    def write_then_fail(run, frame):
        original(run, frame)
        raise RuntimeError("killed while writing")

    monkeypatch.setattr(services.execute, "write_scores", write_then_fail)
    run = execute(d, publish=True)
    assert run.status == Status.FAILED
    with scopes_disabled():
        assert not CustomerScore.objects.filter(run=run).exists()
        assert StratificationProfile.objects.get(distributor=d).current_run_id is None


def test_tenant_without_lines_fails_with_a_clear_message(tenant_a):
    run = execute(tenant_a.distributor, publish=True)
    assert run.status == Status.FAILED
    assert "no invoice lines" in run.message
    with scopes_disabled():
        assert "no invoice lines" in Job.objects.get(pk=run.job_id).message


def test_as_of_before_the_first_invoice_or_after_today_is_refused_naming_it(loaded):
    # Before: a run as of 1900-01-01 was queued and then failed with "No invoice lines in the window".
    d = loaded.distributor
    with scopes_disabled():
        first = InvoiceLine.objects.filter(distributor=d).order_by("invoice_date").first().invoice_date
    with scope(distributor=d):
        for as_of, words in (
            (date(1900, 1, 1), "may not be before the first invoice date"),
            (first - timedelta(days=1), "may not be before the first invoice date"),
            (timezone.localdate() + timedelta(days=1), "may not be after today"),
        ):
            with pytest.raises(ValidationError) as error:
                services.run_request(distributor=d, dispatch=False, as_of=as_of)
            assert list(error.value.message_dict) == ["as_of"]
            assert f"The as-of date {words}" in error.value.message_dict["as_of"][0]
        assert not StratificationRun.objects.filter(distributor=d).exists()
        # The first invoice date and today are allowed.
        assert services.run_request(distributor=d, dispatch=False, as_of=first).as_of == first
        assert services.run_request(distributor=d, dispatch=False, as_of=timezone.localdate()).pk


def test_second_run_waits_while_one_is_running(loaded):
    d = loaded.distributor
    with scope(distributor=d):
        first = services.run_request(distributor=d, dispatch=False)
        second = services.run_request(distributor=d, dispatch=False)
    with scopes_disabled():  # a worker is busy with the first run
        Job.objects.filter(pk=first.job_id).update(status=Job.Status.RUNNING, heartbeat_at=timezone.now())
        StratificationRun.objects.filter(pk=first.pk).update(status=Status.RUNNING)
    job = job_execute(second.job_id)
    assert job.status == Job.Status.QUEUED and "Waiting for run" in job.message
    with scopes_disabled():
        assert StratificationRun.objects.get(pk=second.pk).status == Status.QUEUED
        assert not CustomerScore.objects.filter(run=second).exists()
        # the first run's worker died: the sweep fails its job; the waiting run may go now
        Job.objects.filter(pk=first.job_id).update(status=Job.Status.FAILED, message="lost")
    job = job_execute(second.job_id)
    assert job.status == Job.Status.SUCCEEDED
    with scope(distributor=d):
        services.runs_reconcile(distributor=d)
        assert StratificationRun.objects.get(pk=first.pk).status == Status.FAILED


def test_requeued_run_recomputes_from_scratch(loaded):
    """A worker killed after writing scores: the sweep requeues the job, the rerun replaces the rows."""
    d = loaded.distributor
    run = execute(d)
    with scopes_disabled():
        count = CustomerScore.objects.filter(run=run).count()
        StratificationRun.objects.filter(pk=run.pk).update(status=Status.RUNNING)
        Job.objects.filter(pk=run.job_id).update(status=Job.Status.QUEUED)
    job_execute(run.job_id)
    with scopes_disabled():
        assert StratificationRun.objects.get(pk=run.pk).status == Status.SUCCEEDED
        assert CustomerScore.objects.filter(run=run).count() == count


def test_publish_twice_and_unfinished_runs_are_refused(loaded):
    d = loaded.distributor
    run = execute(d)
    with scope(distributor=d):
        services.run_publish(run)
        with pytest.raises(services.RunError):
            services.run_publish(run)
        queued = services.run_request(distributor=d, dispatch=False)
        with pytest.raises(services.RunError):
            services.run_publish(queued)
        assert selectors.current_run(d) == run


def test_preview_is_compared_with_the_published_run(loaded):
    d = loaded.distributor
    published = execute(d, publish=True)
    preview = execute(d, overrides={"value_weights": {"recency_days": 1}, "value_top_share": 0.5})
    assert preview.status == Status.SUCCEEDED and preview.published_at is None
    assert preview.settings["value_weights"] == {"recency_days": 1.0}
    with scope(distributor=d):
        comparison = services.run_compare(preview)
        mine = dict(CustomerScore.objects.filter(run=preview).values_list("customer__customer_id", "segment"))
        theirs = dict(CustomerScore.objects.filter(run=published).values_list("customer__customer_id", "segment"))
        assert selectors.current_run(d) == published
    assert comparison["other"] == published.number
    assert sum(sum(row.values()) for row in comparison["matrix"].values()) == 12
    moved = {m["customer_id"]: (m["from"], m["to"]) for m in comparison["moves"]}
    assert moved == {c: (theirs[c], mine[c]) for c in mine if mine[c] != theirs[c]}
    assert comparison["moved_count"] == len(moved) > 0
    for customer_id, (src, dst) in moved.items():
        assert comparison["matrix"][src][dst] >= 1, customer_id


def test_publishing_a_preview_after_another_publication_recomputes_migrations(loaded):
    d = loaded.distributor
    preview = execute(d, overrides={"profit_top_share": 0.6})
    newer = execute(d, publish=True)
    with scope(distributor=d):
        services.run_publish(preview)
        newer_segments = dict(CustomerScore.objects.filter(run=newer).values_list("customer_id", "segment"))
        for score in CustomerScore.objects.filter(run=preview):
            assert score.previous_segment == newer_segments[score.customer_id]
        assert selectors.previous_run(d) == newer


def test_a_published_preview_makes_its_settings_the_models(loaded):
    """A what-if preview published by a manager: its settings become the model's, recorded as a change
    by that manager (the Model page showed the old ones while every page showed the new, and the next
    run went quietly back). A run published as it finishes does not touch them."""
    d = loaded.distributor
    execute(d, publish=True)
    preview = execute(d, overrides={"cost_per_order": "35.00", "profit_top_share": 0.6})
    with scope(distributor=d):
        assert SettingsChange.objects.filter(distributor=d).count() == 0
        published = services.run_publish(preview, actor=loaded.manager)
        effective = services.settings_effective(distributor=d)
        change = SettingsChange.objects.get(distributor=d)
    assert published.settings_adopted is True
    assert effective.to_dict() == preview.settings and str(effective.cost_per_order) == "35.00"
    assert change.changed_by == loaded.manager and change.changes["cost_per_order"][1] == "35.00"
    # The next run, with the model's settings, keeps them; publishing it changes nothing more.
    following = execute(d, publish=True)
    assert following.settings == preview.settings
    with scope(distributor=d):
        assert SettingsChange.objects.filter(distributor=d).count() == 1


# --- settings ----------------------------------------------------------------------------------------


def test_settings_validation_names_fields_and_saves_nothing(tenant_a):
    d = tenant_a.distributor
    with scope(distributor=d):
        with pytest.raises(ValidationError) as error:
            services.settings_update(
                distributor=d,
                actor=tenant_a.manager,
                settings={"value_weights": {"revenue": -1}, "profit_top_share": 1.5, "cost_per_line": "-2"},
            )
        assert set(error.value.message_dict) == {"value_weights.revenue", "profit_top_share", "cost_per_line"}
        with pytest.raises(ValidationError) as error:
            services.settings_update(distributor=d, actor=tenant_a.manager, settings={"profit_weights": {"revenue": 0}})
        assert "profit_weights" in error.value.message_dict
        assert selectors.profile_get(distributor=d).settings == {}
        assert not SettingsChange.objects.filter(distributor=d).exists()


def test_settings_history_records_who_changed_what(tenant_a):
    d = tenant_a.distributor
    with scope(distributor=d):
        services.settings_update(distributor=d, actor=tenant_a.manager, settings={"window_days": 180})
        services.settings_update(
            distributor=d, actor=tenant_a.manager, settings={"cost_per_order": "12.5"}, partial=True
        )
        services.settings_update(
            distributor=d, actor=tenant_a.manager, settings={"cost_per_order": "12.5"}, partial=True
        )
        history = list(selectors.settings_history(distributor=d))
        assert len(history) == 2  # the no-op update is not recorded
        assert history[0].changes == {"cost_per_order": ["20.00", "12.5"]}
        assert history[1].changes == {"window_days": [365, 180]}
        assert history[0].changed_by == tenant_a.manager
        effective = services.settings_effective(distributor=d)
        assert effective.window_days == 180 and str(effective.cost_per_order) == "12.5"
        # a run uses the tenant's settings, with its what-if overrides on top
        run = services.run_request(distributor=d, overrides={"value_top_share": 0.2}, dispatch=False)
        assert run.settings["window_days"] == 180 and run.settings["value_top_share"] == 0.2
        with pytest.raises(ValidationError):
            services.run_request(distributor=d, overrides={"window_days": 0}, dispatch=False)


# --- schedule ----------------------------------------------------------------------------------------


def test_schedule_enqueues_due_runs_once(loaded, tenant_b, django_capture_on_commit_callbacks):
    d = loaded.distributor
    with scope(distributor=d):
        services.schedule_update(distributor=d, schedule="weekly")
    with scope(distributor=tenant_b.distributor):  # schedule on, but nothing to stratify
        services.schedule_update(distributor=tenant_b.distributor, schedule="monthly")
    with django_capture_on_commit_callbacks(execute=True):
        created = services.runs_schedule_due()
    assert len(created) == 1
    with scopes_disabled():
        run = StratificationRun.objects.get(pk=created[0])
        assert run.distributor == d and run.publish_requested and run.status == Status.SUCCEEDED
        assert StratificationProfile.objects.get(distributor=d).current_run_id == run.pk
    assert services.runs_schedule_due() == []  # not due again within the week
    assert len(services.runs_schedule_due(now=timezone.now() + timedelta(days=8))) == 1


def test_restratify_after_import_enqueues_a_published_run(loaded, tenant_b, django_capture_on_commit_callbacks):
    with scope(distributor=tenant_b.distributor):
        assert services.restratify_after_import(distributor=tenant_b.distributor) is None  # no lines
    with scope(distributor=loaded.distributor), django_capture_on_commit_callbacks(execute=True):
        run = services.restratify_after_import(distributor=loaded.distributor, actor=loaded.manager)
    with scopes_disabled():
        run.refresh_from_db()
        assert run.status == Status.SUCCEEDED and run.published_at is not None and run.created_by == loaded.manager


def test_a_preview_page_shows_the_money_it_would_change(loaded):
    """Before publishing a what-if with dearer orders, the run page says what it does to cost to serve
    and net profit, per segment and in all, against the published run (it showed who moves only)."""
    from django.test import Client
    from django.urls import reverse

    from stratify.formatting import format_money

    d = loaded.distributor
    published = execute(d, publish=True)
    preview = execute(d, overrides={"cost_per_order": "35.00"})
    client = Client()
    client.force_login(loaded.manager)
    response = client.get(reverse("run-detail", kwargs={"tenant": loaded.slug, "run_id": preview.number}))
    money = response.context["money"]
    assert money["other"] == published.number
    before = sum(Decimal(str(t["net_profit"])) for s, t in published.totals.items() if s != "lapsed")
    after = sum(Decimal(str(t["net_profit"])) for s, t in preview.totals.items() if s != "lapsed")
    assert money["total"]["before"]["net_profit"] == before and money["total"]["after"]["net_profit"] == after
    assert money["total"]["change"]["net_profit"] == after - before < 0  # dearer orders cost profit
    assert money["total"]["change"]["cost_to_serve"] > 0
    html = response.content.decode()
    assert 'id="run-money"' in html and format_money(after - before, d) in html
