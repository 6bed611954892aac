"""Jobs go to a Celery queue per kind of work, and one tenant's jobs never take every worker of a
queue (stratify/jobs/routing.py). The worker tests start real worker processes on separate queues."""

import time

import pytest
from django.db import transaction
from django_scopes import scope, scopes_disabled

from stratify import celery_app
from stratify.jobs import services
from stratify.jobs.models import Job
from stratify.jobs.routing import JOB_QUEUES, all_queue_names, job_queue, queue_for, queue_name
from stratify.jobs.services import job_enqueue, job_execute
from tests import factories as f
from tests.jobs import worker_handlers  # noqa: F401 - registers the test kinds here too (routing)


def test_kinds_are_routed_to_their_queues(settings):
    assert settings.JOB_QUEUE_NAMES == JOB_QUEUES
    kinds = ("import", "stratify", "restratify", "profit_centers", "cut_tables")
    assert {kind: job_queue(kind) for kind in kinds} == {
        "import": "imports",
        "stratify": "runs",
        "restratify": "runs",
        "profit_centers": "insights",
        "cut_tables": "insights",
    }
    # Kinds other apps add without naming a queue are routed by name, or to the default queue.
    assert job_queue("alerts") == "insights" and job_queue("tier_notice_email") == "email"
    assert queue_for("something-else") == settings.CELERY_TASK_DEFAULT_QUEUE
    assert queue_for("import") == f"{settings.JOB_QUEUE_PREFIX}imports"
    # A worker without -Q (make run's) consumes the default queue and every job queue.
    assert sorted(q.name for q in celery_app.conf.task_queues) == sorted(all_queue_names())
    from stratify.devrun import commands

    assert "-Q" not in commands(host="127.0.0.1", port=8000)["worker"]
    # Each queue has its own routing key: a message sent to one is never copied to the others.
    keys = [q.routing_key for q in celery_app.conf.task_queues]
    assert len(set(keys)) == len(keys)


def test_enqueue_sends_to_the_kinds_queue(db, monkeypatch, settings, django_capture_on_commit_callbacks):
    from stratify.jobs.tasks import run_job_task

    sent = []
    monkeypatch.setattr(run_job_task, "apply_async", lambda args, countdown=None, queue=None: sent.append(queue))
    distributor = f.DistributorFactory(slug="route-a")
    with django_capture_on_commit_callbacks(execute=True), scope(distributor=distributor):
        for kind in ("import", "stratify", "profit_centers", "alerts", "unrouted"):
            job_enqueue(distributor=distributor, kind=kind)
    assert sent == [
        queue_name("imports"),
        queue_name("runs"),
        queue_name("insights"),
        queue_name("insights"),
        settings.CELERY_TASK_DEFAULT_QUEUE,
    ]


@pytest.fixture
def not_eager(monkeypatch):
    resent = []
    monkeypatch.setattr(services, "_send", lambda job_id, countdown=None, **kw: resent.append((job_id, countdown)))
    celery_app.conf.task_always_eager = False
    yield resent
    celery_app.conf.task_always_eager = True


def enqueue(distributor, kind, **params) -> Job:
    with scope(distributor=distributor):
        return job_enqueue(distributor=distributor, kind=kind, params=params, dispatch=False)


def state(job) -> Job:
    with scopes_disabled():
        return Job.objects.get(pk=job.pk)


def test_a_tenants_second_job_on_a_queue_waits_for_its_first(db, not_eager, settings):
    settings.JOB_MAX_RUNNING_PER_TENANT = 1
    a, b = f.DistributorFactory(slug="fair-a"), f.DistributorFactory(slug="fair-b")
    running = enqueue(a, "test-run")
    with scopes_disabled():  # as if a worker were running it now
        assert services._claim(running.pk).status == Job.Status.RUNNING
    second, other_queue, other_tenant = enqueue(a, "test-run"), enqueue(a, "test-import"), enqueue(b, "test-run")
    # Same tenant, same queue: not started, left queued and sent back with the retry countdown.
    assert job_execute(second.pk) is None
    held = state(second)
    assert (held.status, held.attempts) == (Job.Status.QUEUED, 0)
    assert held.message.startswith(services.WAITING_PREFIX)
    assert not_eager == [(second.pk, settings.JOB_FAIR_RETRY_SECONDS)]
    # Another queue of the same tenant, and another tenant on the same queue, run at once.
    assert job_execute(other_queue.pk).status == Job.Status.SUCCEEDED
    assert job_execute(other_tenant.pk).status == Job.Status.SUCCEEDED
    # Once the first is over, the held one runs, and its "waiting" message is gone.
    with scopes_disabled():
        Job.objects.filter(pk=running.pk).update(status=Job.Status.SUCCEEDED)
    done = job_execute(second.pk)
    assert done.status == Job.Status.SUCCEEDED and done.attempts == 1
    assert not done.message.startswith(services.WAITING_PREFIX)


def test_a_running_job_with_a_stale_heartbeat_does_not_hold_its_tenant(db, not_eager, settings):
    from datetime import timedelta

    from django.utils import timezone

    a = f.DistributorFactory(slug="fair-stale")
    lost = enqueue(a, "test-run")
    with scopes_disabled():
        services._claim(lost.pk)
        Job.objects.filter(pk=lost.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert job_execute(enqueue(a, "test-run").pk).status == Job.Status.SUCCEEDED


def test_eager_mode_has_no_share(db, settings):
    """In-process jobs (tests, foreground commands) are not held back: a job enqueued by a running job
    of the same queue (a re-stratification after an import) would otherwise wait for its parent."""
    a = f.DistributorFactory(slug="fair-eager")
    first = enqueue(a, "test-run")
    with scopes_disabled():
        services._claim(first.pk)
    assert job_execute(enqueue(a, "test-run").pk).status == Job.Status.SUCCEEDED


# ---- real workers --------------------------------------------------------------------------------
def send(distributor, kind: str, **params) -> int:
    with transaction.atomic(), scope(distributor=distributor):
        return job_enqueue(distributor=distributor, kind=kind, params=params).pk


def wait_finished(job_ids, workers, timeout: float = 120) -> dict[int, Job]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with scopes_disabled():
            jobs = {j.pk: j for j in Job.objects.filter(pk__in=job_ids)}
        if all(j.is_finished for j in jobs.values()):
            for job in jobs.values():
                assert job.status == Job.Status.SUCCEEDED, job.message
            return jobs
        time.sleep(0.1)
    logs = "\n".join(w.log()[-2000:] for w in workers)
    raise AssertionError(f"jobs not finished: {[(j.pk, j.kind, j.status) for j in jobs.values()]}\n{logs}")


@pytest.mark.worker
def test_a_long_import_never_keeps_another_tenants_run_waiting(start_worker):
    """Two worker processes, one per queue. While tenant A's long import runs on the imports worker,
    tenant B's run starts at once on the runs worker and is over before the import is."""
    importer = start_worker(queues=["imports"])
    runner = start_worker(queues=["runs"])
    a, b = f.DistributorFactory(slug="queues-a"), f.DistributorFactory(slug="queues-b")
    long_import = send(a, "test-import", steps=40, delay=0.2)  # ~8 s
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with scopes_disabled():
            if Job.objects.filter(pk=long_import, status=Job.Status.RUNNING).exists():
                break
        time.sleep(0.05)
    queued_at = time.time()
    run = send(b, "test-run", steps=2, delay=0.1)
    jobs = wait_finished([long_import, run], [importer, runner])
    imp, stratify = jobs[long_import].result, jobs[run].result
    assert stratify["started"] - queued_at < 5, "B's run waited"
    assert stratify["finished"] < imp["finished"], "B's run waited for A's import"
    assert imp["pid"] != stratify["pid"]  # two processes, one per queue
    # Each message went to one queue only: no worker was handed a job it could not claim.
    assert "not claimed" not in importer.log() + runner.log()
    assert importer.log().count(" received") == 1 and runner.log().count(" received") == 1


@pytest.mark.worker
def test_one_tenants_burst_does_not_take_every_worker_of_a_queue(start_worker):
    """A runs worker with two slots; tenant A enqueues three runs, then tenant B one. A runs one at a
    time (its share), so B takes the second slot at once instead of waiting behind A's burst."""
    runner = start_worker(queues=["runs"], concurrency=2)
    a, b = f.DistributorFactory(slug="burst-a"), f.DistributorFactory(slug="burst-b")
    burst = [send(a, "test-run", steps=10, delay=0.2) for _ in range(3)]  # ~2 s each
    other = send(b, "test-run", steps=2, delay=0.1)
    jobs = wait_finished([*burst, other], [runner], timeout=180)
    spans = sorted((jobs[pk].result["started"], jobs[pk].result["finished"]) for pk in burst)
    for (_, previous_end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= previous_end - 0.05, f"two of A's runs ran at once: {spans}"
    first_end = spans[0][1]
    assert jobs[other].result["started"] < first_end, "B waited behind A's burst"
