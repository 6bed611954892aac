"""Only one attempt of a job publishes: the heartbeat survives a lost connection (so a live job is not
requeued), and an attempt the sweep requeued is fenced off: its progress raises `JobSuperseded`, its
result transaction cannot commit (`job_fence`), its outcome is not recorded."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from sales.models import Rep
from stratify.jobs import services
from stratify.jobs.models import Job
from stratify.jobs.registry import JobSuperseded, job_handler
from stratify.jobs.services import job_enqueue, job_execute, job_fence, job_still_mine, jobs_sweep_stale
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sent(monkeypatch):
    """Requeued jobs are not handed to a worker (tests are eager: it would run at once); a test runs
    the next attempt itself where it wants one."""
    calls = []
    monkeypatch.setattr(services, "_send", lambda job_id, countdown=None, **kw: calls.append(job_id))
    return calls


def enqueue(distributor, kind) -> Job:
    with scope(distributor=distributor):
        return job_enqueue(distributor=distributor, kind=kind, dispatch=False)


def reload(job_or_id) -> Job:
    with scopes_disabled():
        return Job.objects.get(pk=getattr(job_or_id, "pk", job_or_id))


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def requeue_as_the_sweep_would(job) -> None:
    """The sweep found the job's heartbeat stale and requeued it (as after a lost heartbeat)."""
    assert jobs_sweep_stale(stale_after=-60)["requeued"] == 1, reload(job).status


# --- the heartbeat survives a lost connection ------------------------------------------------------


def test_heartbeat_reconnects_after_its_connection_is_lost(monkeypatch):
    """The raw connection under the heartbeat thread is closed behind Django's back (what a server
    restart or an idle-timeout proxy does): the next beat fails, the one after reconnects."""
    monkeypatch.setattr(services, "HEARTBEAT_SECONDS", 0.05)
    original = services._Heartbeat._stamp
    lost = threading.Event()

    def stamp(self, fields):
        if self.beats == 2 and not lost.is_set():
            lost.set()
            connection.connection.close()  # this thread's connection, gone without Django knowing
        return original(self, fields)

    monkeypatch.setattr(services._Heartbeat, "_stamp", stamp)
    distributor = f.DistributorFactory(slug="beat-lost")
    seen = {}

    @job_handler("test-beat-lost")
    def _handler(job, progress):
        beat = progress.heartbeat
        assert wait_for(lost.is_set), "the connection was never lost"
        seen["resumed"] = wait_for(lambda: beat.beats >= 5)
        seen["stamped_after"] = reload(job).heartbeat_at
        return {}

    job = enqueue(distributor, "test-beat-lost")
    started = timezone.now()
    assert job_execute(job.pk).status == Job.Status.SUCCEEDED
    assert seen["resumed"], "the heartbeat stopped for good after losing its connection"
    assert seen["stamped_after"] > started


@pytest.mark.postgres
def test_heartbeat_resumes_after_the_server_terminates_its_connection(monkeypatch):
    monkeypatch.setattr(services, "HEARTBEAT_SECONDS", 0.1)
    distributor = f.DistributorFactory(slug="beat-killed")
    seen = {}

    @job_handler("test-beat-killed")
    def _handler(job, progress):
        beat = progress.heartbeat
        assert wait_for(lambda: beat.backend_pid is not None and beat.beats >= 1)
        killed_pid = beat.backend_pid
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [killed_pid])
            assert cursor.fetchone()[0] is True
        killed_at, beats_before = timezone.now(), beat.beats
        seen["resumed"] = wait_for(lambda: beat.beats >= beats_before + 3)
        seen["new_pid"], seen["killed_pid"] = beat.backend_pid, killed_pid
        seen["stamp_after_kill"] = reload(job).heartbeat_at > killed_at
        return {}

    job = enqueue(distributor, "test-beat-killed")
    assert job_execute(job.pk).status == Job.Status.SUCCEEDED
    assert seen["resumed"], "no heartbeat after pg_terminate_backend"
    assert seen["new_pid"] != seen["killed_pid"]
    assert seen["stamp_after_kill"]


# --- a requeued job fences off its older attempt ----------------------------------------------------


def test_a_superseded_attempt_is_stopped_and_only_the_newer_attempt_is_recorded():
    """Attempt 1 is requeued by the sweep while it works; attempt 2 runs the job to its end. Attempt 1's
    next progress report stops it: it writes nothing and its outcome is not recorded."""
    distributor = f.DistributorFactory(slug="fenced")
    events = []

    @job_handler("test-takeover")
    def _handler(job, progress):
        if job.attempts == 2:
            Rep.objects.create(distributor=job.distributor, rep_id="BY-ATTEMPT-2")
            return {"created": 1, "attempt": 2}
        progress(30, "working")
        requeue_as_the_sweep_would(job)
        assert not job_still_mine(job)
        job_execute(job.pk)  # another worker picks the requeued job up and finishes it
        try:
            progress(60, "merging")
        except JobSuperseded:
            events.append("superseded")
            raise
        Rep.objects.create(distributor=job.distributor, rep_id="BY-ATTEMPT-1")
        return {"created": 1, "attempt": 1}

    job = enqueue(distributor, "test-takeover")
    job_execute(job.pk)
    final = reload(job)
    assert events == ["superseded"]
    assert (final.status, final.attempts, final.result, final.progress) == (
        Job.Status.SUCCEEDED,
        2,
        {"created": 1, "attempt": 2},
        100,
    )
    with scopes_disabled():
        assert list(Rep.objects.filter(distributor=distributor).values_list("rep_id", flat=True)) == ["BY-ATTEMPT-2"]


def test_a_stale_attempts_completion_is_refused_after_a_requeue():
    distributor = f.DistributorFactory(slug="fenced-finish")
    job = enqueue(distributor, "test-takeover")
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=1, heartbeat_at=timezone.now())
    attempt_1 = reload(job)
    requeue_as_the_sweep_would(job)
    assert services._finish(attempt_1, Job.Status.SUCCEEDED, "0 created", {"created": 0}) is False
    assert services._finish(attempt_1, Job.Status.FAILED, "late failure") is False
    assert reload(job).status == Job.Status.QUEUED
    attempt_2 = services._claim(job.pk)
    assert services._finish(attempt_2, Job.Status.SUCCEEDED, "5 created", {"created": 5}) is True
    assert (reload(job).status, reload(job).result) == (Job.Status.SUCCEEDED, {"created": 5})


def test_progress_inside_the_handlers_transaction_stops_a_superseded_attempt(monkeypatch):
    """Inside a transaction progress goes through the heartbeat thread; once a beat finds the job no
    longer this attempt's, the next report raises and the transaction's writes roll back."""
    monkeypatch.setattr(services, "HEARTBEAT_SECONDS", 0.05)
    distributor = f.DistributorFactory(slug="fenced-tx")

    @job_handler("test-fenced-tx")
    def _handler(job, progress):
        requeue_as_the_sweep_would(job)
        assert wait_for(progress.heartbeat.superseded.is_set)
        with transaction.atomic():
            Rep.objects.create(distributor=job.distributor, rep_id="MERGED-BY-A-LOST-ATTEMPT")
            progress(80, "merging")
        return {"published": True}

    job = enqueue(distributor, "test-fenced-tx")
    job_execute(job.pk)
    assert (reload(job).status, reload(job).result) == (Job.Status.QUEUED, {})
    with scopes_disabled():
        assert not Rep.objects.filter(distributor=distributor).exists()


def test_job_fence_lets_the_owner_commit_and_rolls_back_a_superseded_attempt():
    distributor = f.DistributorFactory(slug="fence")
    job = enqueue(distributor, "test-takeover")
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.RUNNING, attempts=1, heartbeat_at=timezone.now() - timedelta(minutes=10)
        )
    attempt_1 = reload(job)
    with pytest.raises(RuntimeError):
        job_fence(attempt_1)  # only meaningful inside the results' transaction
    with scope(distributor=distributor), transaction.atomic():
        Rep.objects.create(distributor=distributor, rep_id="OWNER")
        job_fence(attempt_1)
    assert reload(job).heartbeat_at > timezone.now() - timedelta(seconds=30)  # the fence stamps it
    requeue_as_the_sweep_would(job)
    with pytest.raises(JobSuperseded), scope(distributor=distributor), transaction.atomic():
        Rep.objects.create(distributor=distributor, rep_id="LOST")
        job_fence(attempt_1)
    with scopes_disabled():
        assert list(Rep.objects.filter(distributor=distributor).values_list("rep_id", flat=True)) == ["OWNER"]


@pytest.mark.postgres  # needs two connections writing at once
def test_a_sweep_waiting_on_a_fenced_commit_leaves_the_job_to_its_owner():
    """The sweep saw the job stale, but the attempt was committing its results under `job_fence`: the
    sweep waits for the row, sees the fresh stamp, and does not requeue a job whose results are in."""
    distributor = f.DistributorFactory(slug="fence-sweep")
    job = enqueue(distributor, "test-takeover")
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.RUNNING, attempts=1, heartbeat_at=timezone.now() - timedelta(minutes=10)
        )
    attempt_1 = reload(job)
    counts = {}

    def sweep():
        try:
            counts.update(jobs_sweep_stale(stale_after=60))
        finally:
            connection.close()

    with transaction.atomic():
        job_fence(attempt_1)
        sweeper = threading.Thread(target=sweep)
        sweeper.start()
        time.sleep(0.5)  # the sweep has read the stale row and now waits for its lock
        assert sweeper.is_alive()
    sweeper.join(timeout=10)
    assert counts == {"requeued": 0, "failed": 0, "resent": 0}
    assert services._finish(attempt_1, Job.Status.SUCCEEDED, "Done.", {"ok": True}) is True
