"""A run never says "running" after its job failed: the sweep (and a failure by the normal path)
settles the run in the same transaction, without anybody calling the runs API."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

import segments.jobs
from segments import services
from segments.models import StratificationProfile, StratificationRun
from stratify.jobs.models import Job
from stratify.jobs.registry import JobFailed
from stratify.jobs.services import job_execute, jobs_sweep_stale
from tests.segments.helpers import make_catalog, simple_lines, write_lines

pytestmark = pytest.mark.django_db
Status = StratificationRun.Status


def _request(distributor) -> StratificationRun:
    with scope(distributor=distributor):
        return services.run_request(distributor=distributor, dispatch=False, publish=True)


def _lost_on_its_last_attempt(run: StratificationRun, attempts: int) -> None:
    """The worker died while the run was running (killed `attempts` times): stale heartbeat."""
    with scopes_disabled():
        Job.objects.filter(pk=run.job_id).update(
            status=Job.Status.RUNNING, attempts=attempts, heartbeat_at=timezone.now() - timedelta(hours=1)
        )
        StratificationRun.objects.filter(pk=run.pk).update(status=Status.RUNNING, started_at=timezone.now())


def _state(run):
    with scopes_disabled():
        run = StratificationRun.objects.select_related("job").get(pk=run.pk)
    return run.status, run.message, run.job.status


def test_the_sweep_fails_the_run_of_a_job_it_gives_up_on(tenant_a, tenant_b, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    run = _request(tenant_a.distributor)
    other = _request(tenant_b.distributor)  # another tenant's run, alive: untouched
    _lost_on_its_last_attempt(run, attempts=3)
    with scopes_disabled():
        Job.objects.filter(pk=other.job_id).update(status=Job.Status.RUNNING, attempts=1, heartbeat_at=timezone.now())
        StratificationRun.objects.filter(pk=other.pk).update(status=Status.RUNNING)

    assert jobs_sweep_stale() == {"requeued": 0, "failed": 1, "resent": 0}

    message = "The worker was lost 3 times; the job was stopped."
    assert _state(run) == (Status.FAILED, message, Job.Status.FAILED)
    with scopes_disabled():
        assert StratificationRun.objects.get(pk=run.pk).finished_at is not None
    assert _state(other) == (Status.RUNNING, "", Job.Status.RUNNING)


def test_after_the_sweep_the_scheduler_no_longer_skips_the_tenant(tenant_a, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    customers, products = make_catalog(tenant_a.distributor)
    write_lines(tenant_a.distributor, simple_lines(customers, products))
    with scopes_disabled():
        StratificationProfile.objects.update_or_create(
            distributor=tenant_a.distributor, defaults={"schedule": StratificationProfile.Schedule.WEEKLY}
        )
    run = _request(tenant_a.distributor)
    _lost_on_its_last_attempt(run, attempts=3)
    assert services.runs_schedule_due() == []  # a run is running: the tenant waits
    jobs_sweep_stale()
    assert len(services.runs_schedule_due()) == 1  # the failed run no longer holds the tenant


def test_a_requeued_job_leaves_its_run_alone(tenant_a, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    run = _request(tenant_a.distributor)
    _lost_on_its_last_attempt(run, attempts=1)
    assert jobs_sweep_stale()["requeued"] == 1
    assert _state(run) == (Status.RUNNING, "", Job.Status.QUEUED)  # the next attempt takes it over


def test_a_job_failing_before_the_run_code_runs_fails_the_run_too(tenant_a, monkeypatch):
    def broken(job, progress):
        raise JobFailed("The worker could not load the run.")

    monkeypatch.setattr(segments.jobs, "run_execute", broken)
    run = _request(tenant_a.distributor)
    job_execute(run.job_id)
    assert _state(run) == (Status.FAILED, "The worker could not load the run.", Job.Status.FAILED)


def test_a_finished_run_is_not_rewritten_by_its_jobs_failure(tenant_a):
    run = _request(tenant_a.distributor)
    with scopes_disabled():
        StratificationRun.objects.filter(pk=run.pk).update(status=Status.SUCCEEDED, message="")
        job = Job.objects.get(pk=run.job_id)
    segments.jobs.stratify_job_failed(job, "late failure")
    assert _state(run)[:2] == (Status.SUCCEEDED, "")
