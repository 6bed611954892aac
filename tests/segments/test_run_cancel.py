"""Cancelling a model run: a manager stops a queued run (it never runs) or a running one (it stops at
its next step, before it publishes, keeping none of its scores), from the run's page or the API; the
published run stays as it is; a finished run cannot be cancelled; a cancel asked once the run has
published comes too late and the run stands."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

import segments.services.execute as execute_module
from segments import selectors, services
from segments.models import CustomerScore, StratificationRun
from stratify.jobs.models import Job
from stratify.jobs.services import ProgressReporter, job_cancel, job_execute
from tests.conftest import api_as
from tests.segments.helpers import make_catalog, simple_lines, write_lines

pytestmark = pytest.mark.django_db
Status = StratificationRun.Status


@pytest.fixture
def published(tenant_a):
    """tenant_a with invoice lines and a published run."""
    customers, products = make_catalog(tenant_a.distributor)
    write_lines(tenant_a.distributor, simple_lines(customers, products))
    run = request(tenant_a.distributor, tenant_a.manager)
    job_execute(run.job_id)
    assert reload(run).status == Status.SUCCEEDED
    return reload(run)


def request(distributor, actor) -> StratificationRun:
    with scope(distributor=distributor):
        return services.run_request(distributor=distributor, actor=actor, dispatch=False, publish=True)


def reload(run) -> StratificationRun:
    with scopes_disabled():
        return StratificationRun.objects.select_related("job").get(pk=run.pk)


def scores_of(run) -> int:
    with scopes_disabled():
        return CustomerScore.objects.filter(run_id=run.pk).count()


def current(distributor):
    with scopes_disabled():
        return selectors.current_run(distributor)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_queued_run_cancelled_from_its_page_never_runs(tenant_a, published):
    run = request(tenant_a.distributor, tenant_a.manager)
    client = login(tenant_a.manager)
    page = reverse("run-detail", kwargs={"tenant": tenant_a.slug, "run_id": run.number})
    assert 'id="cancel-run"' in client.get(page).content.decode()
    response = client.post(reverse("run-cancel", kwargs={"tenant": tenant_a.slug, "run_id": run.number}))
    assert response.status_code == 302
    run = reload(run)
    assert run.status == Status.FAILED and run.finished_at is not None
    assert run.message == "Cancelled by alpha-manager before it started; nothing was published."
    assert run.job.status == Job.Status.FAILED and run.job.result == {"cancelled": True}
    assert job_execute(run.job_id) is None  # a late message for its job does nothing
    assert reload(run).status == Status.FAILED and scores_of(run) == 0
    assert current(tenant_a.distributor) == published
    html = client.get(response["Location"]).content.decode()
    assert "was cancelled; the published run is unchanged" in html and 'id="cancel-run"' not in html


def test_a_running_run_stops_before_it_publishes_and_keeps_no_scores(tenant_a, published, monkeypatch):
    run = request(tenant_a.distributor, tenant_a.manager)
    write = execute_module.write_scores
    seen = {}

    def write_then_cancel(run_, frame):
        write(run_, frame)
        seen["written"] = CustomerScore.objects.filter(run_id=run_.pk).count()
        seen["status"] = services.run_cancel(distributor=tenant_a.distributor, run=reload(run), actor=None).status

    monkeypatch.setattr(execute_module, "write_scores", write_then_cancel)
    job_execute(run.job_id)
    run = reload(run)
    assert seen == {"written": scores_of(published), "status": Status.RUNNING}  # asked while it wrote
    assert run.status == Status.FAILED and run.published_at is None
    assert run.message == "Cancelled at a manager's request; nothing was written."
    assert scores_of(run) == 0  # the scores it had written are not kept
    assert current(tenant_a.distributor) == published and scores_of(published) > 0


def test_a_cancel_asked_while_it_publishes_stops_it_before_the_commit(tenant_a, published, monkeypatch):
    """A cancel after the last progress check, while the publishing transaction runs: the fence at its
    end (which locks the job row) sees it, and the publication rolls back."""
    run = request(tenant_a.distributor, tenant_a.manager)
    publish = execute_module.publish_in_transaction

    def cancel_then_publish(run_):
        job_cancel(distributor=tenant_a.distributor, job_id=run.job_id)
        publish(run_)

    monkeypatch.setattr(execute_module, "publish_in_transaction", cancel_then_publish)
    job_execute(run.job_id)
    run = reload(run)
    assert run.status == Status.FAILED and run.published_at is None and scores_of(run) == 0
    assert run.job.result == {"cancelled": True}
    assert current(tenant_a.distributor) == published


def test_a_cancel_asked_once_the_run_has_published_comes_too_late(tenant_a, published, monkeypatch):
    """After the publishing transaction committed, the run stands, and the manager is told so (the
    click read the run as still running a moment before)."""
    run = request(tenant_a.distributor, tenant_a.manager)
    outcome = ProgressReporter.outcome
    refusals = []

    def cancel_then_outcome(reporter, message):
        try:
            services.run_cancel(distributor=tenant_a.distributor, run=run, actor=None)  # `run` as read before
        except services.RunError as error:
            refusals.append(str(error))
        outcome(reporter, message)

    monkeypatch.setattr(ProgressReporter, "outcome", cancel_then_outcome)
    job_execute(run.job_id)
    run = reload(run)
    assert refusals == [f"Run #{run.number} has just finished: it can no longer be cancelled."]
    assert run.status == Status.SUCCEEDED and run.job.status == Job.Status.SUCCEEDED
    assert run.job.message.startswith(f"Run #{run.number}: ") and run.job.message.endswith("(published)")
    assert current(tenant_a.distributor) == run and scores_of(run) == scores_of(published)


def test_api_cancel_and_who_may(tenant_a, tenant_b, published):
    run = request(tenant_a.distributor, tenant_a.manager)
    url = reverse("api-run-cancel", kwargs={"tenant": tenant_a.slug, "pk": run.number})
    assert api_as(tenant_a.rep_user).post(url).status_code == 403
    assert api_as(tenant_a.customer_user).post(url).status_code == 403
    assert (
        api_as(tenant_b.manager)
        .post(reverse("api-run-cancel", kwargs={"tenant": tenant_b.slug, "pk": run.number}))
        .status_code
        == 404
    )
    assert (
        login(tenant_a.rep_user)
        .post(reverse("run-cancel", kwargs={"tenant": tenant_a.slug, "run_id": run.number}))
        .status_code
        == 403
    )
    assert reload(run).status == Status.QUEUED
    response = api_as(tenant_a.manager).post(url)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "failed"
    again = api_as(tenant_a.manager).post(url)
    assert again.status_code == 409 and again.json()["detail"] == f"Run #{run.number} has already finished (failed)."
    done = api_as(tenant_a.manager).post(
        reverse("api-run-cancel", kwargs={"tenant": tenant_a.slug, "pk": published.number})
    )
    assert done.status_code == 409 and "already finished (succeeded)" in done.json()["detail"]
    assert current(tenant_a.distributor) == published


def test_a_finished_run_offers_no_cancel_and_says_why(tenant_a, published):
    client = login(tenant_a.manager)
    page = reverse("run-detail", kwargs={"tenant": tenant_a.slug, "run_id": published.number})
    assert 'id="cancel-run"' not in client.get(page).content.decode()
    response = client.post(
        reverse("run-cancel", kwargs={"tenant": tenant_a.slug, "run_id": published.number}), follow=True
    )
    assert f"Run #{published.number} has already finished (succeeded)." in response.content.decode()
    assert reload(published).status == Status.SUCCEEDED
