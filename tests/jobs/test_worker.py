"""A real Celery worker process runs the jobs the platform enqueues, reports progress, and a worker
killed mid-job leaves its job requeued (then finished by another worker) or failed — never stuck.

Runs in both test passes: SQLite + filesystem broker, and PostgreSQL + Redis."""

import os
import time

import pytest
from django.db import transaction
from django_scopes import scope, scopes_disabled

from stratify.jobs.models import Job
from stratify.jobs.services import job_enqueue, jobs_sweep_stale
from tests import factories as f

pytestmark = pytest.mark.worker


def job_state(job_id: int) -> Job:
    with scopes_disabled():
        return Job.objects.get(pk=job_id)


def watch(job_id: int, *, until, timeout: float = 300, worker=None) -> tuple[Job, list[int]]:
    """Poll the job from this (the test) process until `until(job)`; return it and the progress seen."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = job_state(job_id)
        if not seen or seen[-1] != job.progress:
            seen.append(job.progress)
        if until(job):
            return job, seen
        time.sleep(0.05)
    log = worker.log()[-3000:] if worker else ""
    raise AssertionError(f"job {job_id} stuck at {job.status} {job.progress}% ({job.message}); seen {seen}\n{log}")


def enqueue(distributor, kind: str, params: dict) -> int:
    with transaction.atomic(), scope(distributor=distributor):
        job = job_enqueue(distributor=distributor, kind=kind, params=params)
    return job.pk


def test_worker_runs_an_enqueued_job_with_progress(worker):
    distributor = f.DistributorFactory(slug="worker-a")
    job_id = enqueue(distributor, "test-steps", {"steps": 20, "delay": 0.1})
    job, seen = watch(job_id, until=lambda j: j.is_finished, worker=worker)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.result["pid"] != os.getpid()  # run by the worker process, not in here
    assert any(0 < p < 100 for p in seen), seen
    assert seen == sorted(seen) and seen[-1] == 100
    assert job.attempts == 1 and job.message == "step 20 of 20"


def kill_mid_job(start_worker, job_id: int) -> Job:
    """Start a worker, let it get well into the job, then SIGKILL its whole process group."""
    worker = start_worker()
    job, seen = watch(job_id, until=lambda j: j.status == Job.Status.RUNNING and j.progress >= 10, worker=worker)
    worker.kill()
    time.sleep(0.5)
    lost = job_state(job_id)
    assert lost.status == Job.Status.RUNNING and 0 < lost.progress < 100, (lost.status, lost.progress)
    return lost


def test_killed_worker_job_is_requeued_by_the_sweep_and_finished_by_a_new_worker(start_worker, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    distributor = f.DistributorFactory(slug="worker-kill")
    job_id = enqueue(distributor, "test-steps", {"steps": 60, "delay": 0.1})
    lost = kill_mid_job(start_worker, job_id)
    # Nobody is working on it, and its heartbeat is fresh: the default threshold leaves it alone.
    assert jobs_sweep_stale()["requeued"] == 0
    time.sleep(1.5)
    assert job_state(job_id).progress == lost.progress  # nothing moves: the worker is really gone
    counts = jobs_sweep_stale(stale_after=1)
    assert counts["requeued"] == 1
    assert job_state(job_id).status == Job.Status.QUEUED
    worker = start_worker()
    job, seen = watch(job_id, until=lambda j: j.is_finished, worker=worker)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.attempts == 2 and job.progress == 100


def test_killed_worker_job_is_failed_after_max_attempts(start_worker, settings):
    settings.JOB_MAX_ATTEMPTS = 1
    distributor = f.DistributorFactory(slug="worker-kill-fail")
    job_id = enqueue(distributor, "test-steps", {"steps": 60, "delay": 0.1})
    kill_mid_job(start_worker, job_id)
    time.sleep(1.5)
    assert jobs_sweep_stale(stale_after=1) == {"requeued": 0, "failed": 1, "resent": 0}
    job = job_state(job_id)
    assert job.status == Job.Status.FAILED and job.finished_at is not None
    assert job.message == "The worker was lost 1 times; the job was stopped."


# ---- the real "import" job --------------------------------------------------------------------------
IMPORT_LINES = 40_000  # the import runs several seconds (measured ~9 s SQLite, ~8 s PostgreSQL): a kill lands mid-job


@pytest.fixture(scope="module")
def lines_csv(tmp_path_factory):
    """Invoice lines of a synthetic distributor (vectorised and seeded: quick to write)."""
    from imports.demo import DemoDistributor

    path = tmp_path_factory.mktemp("import") / "invoice_lines.csv"
    written = DemoDistributor(customers=1500, lines=IMPORT_LINES, seed=11).write_lines_csv(path)
    return path, written


def start_import(distributor, manager, path) -> int:
    from imports.services import import_start

    with transaction.atomic():  # the platform's own path: the message leaves when this commits
        job = import_start(distributor=distributor, actor=manager, kind="invoice_lines", path=path)
    return job.pk


def invoice_line_count(distributor) -> int:
    from sales.models import InvoiceLine

    with scopes_disabled():
        return InvoiceLine.objects.filter(distributor=distributor).count()


def test_worker_runs_an_import_with_progress(start_worker, lines_csv):
    path, written = lines_csv
    distributor = f.DistributorFactory(slug="import-worker")
    manager = f.membership(distributor, "manager", username="import-manager")
    worker = start_worker()
    job_id = start_import(distributor, manager, path)
    job, seen = watch(job_id, until=lambda j: j.is_finished, worker=worker)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert sum(0 < p < 100 for p in seen) >= 2, seen  # several intermediate values were seen from here
    assert job.progress == 100 and job.attempts == 1
    assert job.result["rows"] == written
    assert invoice_line_count(distributor) == written


@pytest.mark.parametrize("branch", ["requeued-then-finished", "failed-after-max-attempts"])
def test_import_survives_a_killed_worker(branch, start_worker, lines_csv, settings):
    path, written = lines_csv
    settings.JOB_MAX_ATTEMPTS = 3 if branch == "requeued-then-finished" else 1
    distributor = f.DistributorFactory(slug=f"import-kill-{settings.JOB_MAX_ATTEMPTS}")
    manager = f.membership(distributor, "manager", username=f"import-kill-{settings.JOB_MAX_ATTEMPTS}")
    job_id = start_import(distributor, manager, path)
    worker = start_worker()
    watch(job_id, until=lambda j: j.status == Job.Status.RUNNING and j.progress >= 5, worker=worker)
    worker.kill()
    lost = job_state(job_id)
    assert lost.status == Job.Status.RUNNING and lost.progress < 100, (lost.status, lost.progress)
    assert invoice_line_count(distributor) == 0  # the killed attempt wrote nothing (one transaction)
    counts = jobs_sweep_stale(stale_after=0)
    if branch == "failed-after-max-attempts":
        assert counts["failed"] == 1
        job = job_state(job_id)
        assert job.status == Job.Status.FAILED and "lost 1 times" in job.message
        return
    assert counts["requeued"] == 1 and job_state(job_id).status == Job.Status.QUEUED
    worker = start_worker()
    job, _ = watch(job_id, until=lambda j: j.is_finished, worker=worker)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.attempts == 2
    assert invoice_line_count(distributor) == written  # finished once, nothing doubled
