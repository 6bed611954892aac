"""Job services without a worker: claiming, outcomes of a handler, the stale-job sweep, the heartbeat."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from stratify import celery_app
from stratify.jobs import services
from stratify.jobs.models import Job
from stratify.jobs.registry import JobDeferred, JobFailed, JobSuperseded, job_handler
from stratify.jobs.services import job_enqueue, job_execute, jobs_sweep_stale
from tests import factories as f

CALLS: list[int] = []


@job_handler("test-ok")
def _ok(job, progress):
    CALLS.append(job.pk)
    progress(40, "Half-way there")
    return {"rows": 3}


@job_handler("test-user-error")
def _user_error(job, progress):
    progress(10)
    raise JobFailed("Column 'Invoice Date' is missing.")


@job_handler("test-crash")
def _crash(job, progress):
    raise ZeroDivisionError("division by zero")


@job_handler("test-defer")
def _defer(job, progress):
    raise JobDeferred("Another run holds this distributor.", countdown=7)


@job_handler("test-scope")
def _scope_check(job, progress):
    # Handlers run inside the job's tenant scope: a scoped query works without scopes_disabled.
    return {"jobs_in_scope": Job.objects.filter(distributor=job.distributor).count()}


@job_handler("test-slow")
def _slow(job, progress):
    time.sleep(0.6)
    return {}


class Sent(list):
    """Records run_job_task.apply_async calls instead of sending."""

    def __call__(self, args, countdown=None, **kw):
        self.append((args, countdown))


@pytest.fixture
def sent(monkeypatch):
    from stratify.jobs.tasks import run_job_task

    recorder = Sent()
    monkeypatch.setattr(run_job_task, "apply_async", recorder)
    return recorder


@pytest.fixture
def distributor(db):
    return f.DistributorFactory(slug="jobs-tenant")


def enqueue(distributor, kind, **kwargs):
    with scope(distributor=distributor):
        return job_enqueue(distributor=distributor, kind=kind, dispatch=False, **kwargs)


def reload(job) -> Job:
    with scopes_disabled():
        return Job.objects.get(pk=job.pk)


def test_success_records_progress_result_timings(distributor):
    job = enqueue(distributor, "test-ok")
    done = job_execute(job.pk)
    assert done.status == Job.Status.SUCCEEDED
    assert done.progress == 100
    assert done.result == {"rows": 3}
    assert done.message == "Half-way there"
    assert done.attempts == 1
    assert done.started_at and done.finished_at and done.finished_at >= done.started_at


def test_duplicate_delivery_does_nothing(distributor):
    CALLS.clear()
    job = enqueue(distributor, "test-ok")
    assert job_execute(job.pk) is not None
    finished = reload(job)
    assert job_execute(job.pk) is None  # the second message of an at-least-once broker
    assert [job.pk] == CALLS
    again = reload(job)
    assert (again.status, again.attempts, again.finished_at) == (Job.Status.SUCCEEDED, 1, finished.finished_at)


def test_running_job_is_not_claimed_twice(distributor):
    job = enqueue(distributor, "test-ok")
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=1)
    CALLS.clear()
    assert job_execute(job.pk) is None
    assert CALLS == []
    assert reload(job).status == Job.Status.RUNNING


def test_job_failed_is_failed_with_its_message(distributor):
    job = enqueue(distributor, "test-user-error")
    job_execute(job.pk)
    job = reload(job)
    assert job.status == Job.Status.FAILED
    assert job.message == "Column 'Invoice Date' is missing."
    assert job.progress == 10 and job.finished_at is not None


def test_unexpected_exception_is_failed_not_raised(distributor):
    job = enqueue(distributor, "test-crash")
    job_execute(job.pk)
    job = reload(job)
    assert job.status == Job.Status.FAILED
    assert job.message == "Internal error (ZeroDivisionError): division by zero"


def test_unknown_kind_fails_clearly(distributor):
    job = enqueue(distributor, "no-such-kind")
    job_execute(job.pk)
    job = reload(job)
    assert (job.status, job.message) == (Job.Status.FAILED, "Unknown job kind 'no-such-kind'.")


def test_deferred_job_goes_back_to_the_queue_and_is_resent(
    distributor, django_capture_on_commit_callbacks, sent, monkeypatch
):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    job = enqueue(distributor, "test-defer")
    with django_capture_on_commit_callbacks(execute=True):
        job_execute(job.pk)
    job = reload(job)
    assert job.status == Job.Status.QUEUED
    assert job.attempts == 0  # a deferral does not count as an attempt
    assert job.message == "Another run holds this distributor."
    assert sent == [((job.pk,), 7)]


def test_deferred_job_in_eager_mode_is_left_for_the_sweep(distributor, django_capture_on_commit_callbacks):
    # Eager mode would re-run it at once, recursively; it stays queued instead.
    job = enqueue(distributor, "test-defer")
    with django_capture_on_commit_callbacks(execute=True):
        job_execute(job.pk)
    assert reload(job).status == Job.Status.QUEUED


def test_handler_runs_inside_the_tenant_scope(distributor):
    job = enqueue(distributor, "test-scope")
    assert job_execute(job.pk).result == {"jobs_in_scope": 1}


def test_enqueue_dispatches_only_on_commit(distributor, django_capture_on_commit_callbacks, sent):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, scope(distributor=distributor):
        job = job_enqueue(distributor=distributor, kind="test-ok", params={"a": 1})
    assert sent == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [((job.pk,), None)]
    assert reload(job).params == {"a": 1}


def _running(distributor, *, attempts, heartbeat_age):
    job = enqueue(distributor, "test-ok")
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.RUNNING, attempts=attempts, heartbeat_at=timezone.now() - heartbeat_age
        )
    return job


def test_sweep_requeues_stale_fails_exhausted_and_leaves_live_jobs(
    distributor, settings, django_capture_on_commit_callbacks, sent
):
    settings.JOB_STALE_AFTER_SECONDS, settings.JOB_MAX_ATTEMPTS = 60, 3
    stale = _running(distributor, attempts=1, heartbeat_age=timedelta(minutes=5))
    exhausted = _running(distributor, attempts=3, heartbeat_age=timedelta(minutes=5))
    alive = _running(distributor, attempts=1, heartbeat_age=timedelta(seconds=5))
    with django_capture_on_commit_callbacks(execute=True):
        counts = jobs_sweep_stale()
    assert counts == {"requeued": 1, "failed": 1, "resent": 0}
    assert reload(stale).status == Job.Status.QUEUED
    assert reload(stale).message == "The worker was lost; the job was requeued."
    assert reload(exhausted).status == Job.Status.FAILED
    assert reload(exhausted).message == "The worker was lost 3 times; the job was stopped."
    assert reload(alive).status == Job.Status.RUNNING
    assert sent == [((stale.pk,), None)]


def test_sweep_threshold_can_be_overridden(distributor, settings, django_capture_on_commit_callbacks, sent):
    settings.JOB_STALE_AFTER_SECONDS = 300
    job = _running(distributor, attempts=1, heartbeat_age=timedelta(seconds=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_sweep_stale()["requeued"] == 0
        assert jobs_sweep_stale(stale_after=10)["requeued"] == 1
    assert reload(job).status == Job.Status.QUEUED


def test_sweep_resends_forgotten_queued_jobs_once(distributor, settings, django_capture_on_commit_callbacks, sent):
    settings.JOB_STALE_AFTER_SECONDS = 60
    forgotten = enqueue(distributor, "test-ok")
    fresh = enqueue(distributor, "test-ok")
    with scopes_disabled():
        Job.objects.filter(pk=forgotten.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_sweep_stale() == {"requeued": 0, "failed": 0, "resent": 1}
        # The resend stamps the job, so the next sweep does not send it again straight away.
        assert jobs_sweep_stale() == {"requeued": 0, "failed": 0, "resent": 0}
    assert sent == [((forgotten.pk,), None)]
    assert reload(fresh).status == Job.Status.QUEUED


def test_requeued_job_runs_again_and_a_late_write_of_the_lost_attempt_is_ignored(distributor):
    job = _running(distributor, attempts=1, heartbeat_age=timedelta(minutes=10))
    lost_attempt = reload(job)
    jobs_sweep_stale(stale_after=60)
    done = job_execute(job.pk)
    assert (done.status, done.attempts) == (Job.Status.SUCCEEDED, 2)
    with scope(distributor=distributor):
        with pytest.raises(JobSuperseded):
            services.ProgressReporter(lost_attempt)(50, "late write from the dead worker")
        assert services._finish(lost_attempt, Job.Status.FAILED, "late failure") is False
    assert (reload(job).status, reload(job).progress) == (Job.Status.SUCCEEDED, 100)


@pytest.mark.django_db(transaction=True)
def test_heartbeat_stamps_a_running_job_from_its_own_connection(monkeypatch):
    monkeypatch.setattr(services, "HEARTBEAT_SECONDS", 0.1)
    distributor = f.DistributorFactory(slug="beat")
    beats = []

    @job_handler("test-beat")
    def _beat(job, progress):
        first = reload(job).heartbeat_at
        time.sleep(0.5)
        beats.append((first, reload(job).heartbeat_at))
        return {}

    job = enqueue(distributor, "test-beat")
    assert job_execute(job.pk).status == Job.Status.SUCCEEDED
    first, later = beats[0]
    assert later > first


def read_progress_elsewhere(job_id: int, want: int, timeout: float = 5.0) -> int | None:
    """The job's progress as another connection (another process, the job page) sees it."""
    seen: list[int] = []

    def poll():
        from django.db import connection

        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                seen.append(reload_unscoped(job_id).progress)
                if seen[-1] == want:
                    return
                time.sleep(0.05)
        finally:
            connection.close()

    thread = threading.Thread(target=poll)
    thread.start()
    thread.join()
    return seen[-1] if seen else None


def reload_unscoped(job_id: int) -> Job:
    with scopes_disabled():
        return Job.objects.get(pk=job_id)


@pytest.mark.postgres  # SQLite locks the whole file during a write transaction: progress lands at commit
@pytest.mark.django_db(transaction=True)
def test_progress_reported_inside_the_handlers_transaction_is_visible_at_once():
    """A handler that writes everything in one transaction (an import's merge) still shows progress
    and keeps its heartbeat: the values are written from the heartbeat thread's own connection."""
    distributor = f.DistributorFactory(slug="atomic-progress")
    observed = []

    @job_handler("test-atomic-progress")
    def _atomic(job, progress):
        with transaction.atomic():
            f.RepFactory(distributor=job.distributor, rep_id="R-IN-TX")
            progress(55, "Merging…")
            observed.append(read_progress_elsewhere(job.pk, 55))
        return {}

    job = enqueue(distributor, "test-atomic-progress")
    assert job_execute(job.pk).status == Job.Status.SUCCEEDED
    assert observed == [55]


@pytest.mark.django_db(transaction=True)
def test_progress_inside_the_handlers_transaction_never_outlives_the_job():
    distributor = f.DistributorFactory(slug="atomic-late")

    @job_handler("test-atomic-late")
    def _atomic(job, progress):
        with transaction.atomic():
            f.RepFactory(distributor=job.distributor, rep_id="R-LATE")
            progress(60, "Merging…")
        return {"ok": True}

    job = enqueue(distributor, "test-atomic-late")
    done = job_execute(job.pk)
    time.sleep(0.3)  # let the heartbeat thread write whatever it still held
    final = reload_unscoped(job.pk)
    assert (done.status, final.status, final.progress, final.result) == (
        Job.Status.SUCCEEDED,
        Job.Status.SUCCEEDED,
        100,
        {"ok": True},
    )
