"""Creating, running and sweeping jobs.

A job is claimed atomically (queued -> running in one UPDATE), so a message delivered twice runs it
once. While it runs, a heartbeat thread stamps it so the periodic sweep can tell a lost worker from a
slow one; the sweep requeues stale jobs (or fails them after JOB_MAX_ATTEMPTS).

`job_cancel` fails a queued job at once (it will never be claimed) or flags a running one: the
handler's next progress report raises JobCancelled, so whatever transaction it has open rolls back."""

import logging
import threading
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from .models import Job
from .registry import JobCancelled, JobDeferred, JobFailed, get_handler

logger = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15
MESSAGE_MAX_CHARS = 2000  # a job's message is shown on every job list: whatever a handler raised, it stays short


def _bounded(message: str) -> str:
    message = str(message)
    return message if len(message) <= MESSAGE_MAX_CHARS else message[: MESSAGE_MAX_CHARS - 1] + "…"


def _send(job_id: int, countdown: float | None = None) -> None:
    from .tasks import run_job_task

    if countdown and run_job_task.app.conf.task_always_eager:
        # Eager mode cannot wait: resending a deferred job would run it again at once, recursively.
        # It stays queued; the periodic sweep resends it (a worker honours the countdown).
        logger.info("job %s deferred in eager mode: left queued for the sweep", job_id)
        return
    run_job_task.apply_async((job_id,), countdown=countdown)


def job_enqueue(*, distributor, kind: str, params: dict | None = None, actor=None, dispatch: bool = True) -> Job:
    """Create a queued job; with `dispatch`, hand it to a worker once the transaction commits."""
    job = Job.objects.create(
        distributor=distributor,
        kind=kind,
        params=params or {},
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if dispatch:
        transaction.on_commit(partial(_send, job.pk))
    return job


class ProgressReporter:
    """The `progress(percent, message="")` callback handed to job handlers.

    Outside a transaction the job row is updated at once. Inside a transaction the handler opened
    (e.g. one that merges a whole file atomically) an update would stay invisible until the commit and
    would lock the job row, stalling the heartbeat, the sweep and the job page: the values go to the
    heartbeat thread instead, which writes them straight away from its own connection. (On SQLite a
    write transaction locks the whole file, so there they land when the handler commits.)"""

    def __init__(self, job: Job, heartbeat: "_Heartbeat | None" = None):
        self.job, self.heartbeat = job, heartbeat
        # Only transactions opened by the handler itself: a caller's transaction (a foreground run
        # inside a test or a request) is where the job row was read from, so writes stay in it.
        self.outer_depth = len(connection.atomic_blocks)

    def __call__(self, percent: float, message: str = "") -> None:
        if Job.objects.filter(
            pk=self.job.pk, distributor_id=self.job.distributor_id, cancel_requested_at__isnull=False
        ).exists():
            raise JobCancelled()
        percent = max(0, min(99, int(percent)))
        fields = {"progress": percent, "heartbeat_at": timezone.now()}
        if message:
            fields["message"] = message = _bounded(message)
        if self.heartbeat is not None and self.outer_depth == 0 and connection.in_atomic_block:
            self.heartbeat.report(fields)
        else:
            Job.objects.filter(pk=self.job.pk, status=Job.Status.RUNNING, attempts=self.job.attempts).update(**fields)
        self.job.progress = percent
        if message:
            self.job.message = message


class _Heartbeat(threading.Thread):
    """Stamps the job every few seconds from its own connection, so a job inside one long
    transaction or one long SQL statement still shows it is alive; also writes the progress the
    handler reports from inside its own transactions (see ProgressReporter)."""

    def __init__(self, job: Job):
        super().__init__(daemon=True, name=f"job-{job.pk}-heartbeat")
        self.job_id, self.attempt = job.pk, job.attempts
        self.stopped = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._pending: dict = {}

    def report(self, fields: dict) -> None:
        with self._lock:
            self._pending.update(fields)
        self._wake.set()

    def stop(self) -> None:
        self.stopped.set()
        self._wake.set()

    def run(self) -> None:
        try:
            while True:
                self._wake.wait(HEARTBEAT_SECONDS)
                self._wake.clear()
                if self.stopped.is_set():
                    return
                with self._lock:
                    fields, self._pending = self._pending, {}
                try:
                    with scopes_disabled():
                        Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING, attempts=self.attempt).update(
                            **{**fields, "heartbeat_at": timezone.now()}
                        )
                except DatabaseError:  # e.g. SQLite busy while the job writes; the next beat will do
                    logger.debug("heartbeat of job %s skipped", self.job_id)
        finally:
            connection.close()


def _claim(job_id: int) -> Job | None:
    now = timezone.now()
    with scopes_disabled():
        claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            status=Job.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            attempts=F("attempts") + 1,
            progress=0,
        )
        return Job.objects.select_related("distributor").get(pk=job_id) if claimed else None


def _finish(job: Job, status: str, message: str, result: dict | None = None) -> None:
    fields = {
        "status": status,
        "message": _bounded(message),
        "finished_at": timezone.now(),
        "heartbeat_at": timezone.now(),
    }
    if status == Job.Status.SUCCEEDED:
        fields["progress"] = 100
    if result is not None:
        fields["result"] = result
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts).update(**fields)


def job_execute(job_id: int) -> Job | None:
    """Run a queued job to its end in this process. Returns None when it was not queued (a duplicate
    delivery, or already finished): running it again would do the work twice."""
    job = _claim(job_id)
    if job is None:
        logger.info("job %s not claimed (not queued)", job_id)
        return None
    heartbeat = _Heartbeat(job)
    heartbeat.start()
    try:
        with scope(distributor=job.distributor):
            try:
                result = get_handler(job.kind)(job, ProgressReporter(job, heartbeat))
            except JobDeferred as deferred:
                with scopes_disabled():
                    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
                        status=Job.Status.QUEUED, message=str(deferred), attempts=F("attempts") - 1
                    )
                transaction.on_commit(partial(_send, job.pk, deferred.countdown))
            except JobCancelled as cancelled:
                _finish(job, Job.Status.FAILED, str(cancelled), {"cancelled": True})
            except JobFailed as failure:
                _finish(job, Job.Status.FAILED, str(failure))
            except Exception as error:
                logger.exception("job %s (%s) failed", job.pk, job.kind)
                _finish(job, Job.Status.FAILED, f"Internal error ({type(error).__name__}): {error}")
            else:
                _finish(job, Job.Status.SUCCEEDED, job.message or "Done.", result or {})
    finally:
        heartbeat.stop()
    with scopes_disabled():
        job.refresh_from_db()
    return job


class JobNotCancellable(Exception):
    """The job has already finished."""


def job_cancel(*, distributor, job_id: int, actor=None, what: str = "written") -> Job:
    """Cancel a queued job (failed at once, never claimed) or ask a running one to stop (it fails at
    its next progress report, writing nothing its open transaction held). Returns the job as it is
    now; Job.DoesNotExist outside the tenant, JobNotCancellable once finished."""
    now = timezone.now()
    who = getattr(actor, "username", "") or "a manager"
    jobs = Job.objects.filter(distributor=distributor, pk=job_id)
    job = jobs.get()
    if jobs.filter(status=Job.Status.QUEUED).update(
        status=Job.Status.FAILED,
        message=f"Cancelled by {who} before it started; nothing was {what}.",
        result={"cancelled": True},
        cancel_requested_at=now,
        finished_at=now,
    ):
        logger.info("job %s cancelled before it started", job_id)
    elif jobs.filter(status=Job.Status.RUNNING, cancel_requested_at=None).update(cancel_requested_at=now):
        logger.info("job %s asked to stop", job_id)
    elif not jobs.filter(status=Job.Status.RUNNING).exists():
        raise JobNotCancellable(job_id)
    job.refresh_from_db()
    return job


def jobs_sweep_stale(*, now=None, stale_after: float | None = None) -> dict[str, int]:
    """Requeue running jobs whose heartbeat went stale (their worker died), fail those out of attempts,
    and resend queued jobs whose message may have been lost. `stale_after` (seconds) overrides
    JOB_STALE_AFTER_SECONDS, e.g. for an operator who knows the worker is gone."""
    now = now or timezone.now()
    stale_after = settings.JOB_STALE_AFTER_SECONDS if stale_after is None else stale_after
    cutoff = now - timedelta(seconds=stale_after)
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    with scopes_disabled():
        stale = Job.objects.filter(status=Job.Status.RUNNING).filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None))
        for job in stale.only("pk", "attempts", "cancel_requested_at"):
            if job.cancel_requested_at is not None:  # lost while asked to stop: it stays stopped
                if Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts).update(
                    status=Job.Status.FAILED, message=str(JobCancelled()), result={"cancelled": True}, finished_at=now
                ):
                    counts["failed"] += 1
            elif job.attempts < settings.JOB_MAX_ATTEMPTS:
                if Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts).update(
                    status=Job.Status.QUEUED, message="The worker was lost; the job was requeued.", heartbeat_at=now
                ):
                    counts["requeued"] += 1
                    transaction.on_commit(partial(_send, job.pk))
            elif Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts).update(
                status=Job.Status.FAILED,
                message=f"The worker was lost {job.attempts} times; the job was stopped.",
                finished_at=now,
            ):
                counts["failed"] += 1
        forgotten = Job.objects.filter(status=Job.Status.QUEUED, created_at__lt=cutoff).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None)
        )
        for job_id in forgotten.values_list("pk", flat=True):
            Job.objects.filter(pk=job_id).update(heartbeat_at=now)
            transaction.on_commit(partial(_send, job_id))
            counts["resent"] += 1
    return counts
