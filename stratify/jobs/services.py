"""Creating, running and sweeping jobs.

A job is claimed atomically (queued -> running in one UPDATE), so a message delivered twice runs it
once. While it runs, a heartbeat thread stamps it so the periodic sweep can tell a lost worker from a
slow one; the sweep requeues stale jobs (or fails them after JOB_MAX_ATTEMPTS).

Fencing: every write about a job's outcome is a conditional UPDATE on (pk, status running, attempts =
this attempt), so once the sweep requeued a job, its older attempt can no longer report progress
(`JobSuperseded` is raised into it), finish it, or fail it. A handler that publishes results (an
import's merge, a run's publish) calls `job_fence(job)` as the last statement of the transaction that
writes them: only the attempt that owns the job commits. Records mirroring a job are settled by the
`job_failed_handler` hooks in the same transaction that fails the job (here and in the sweep).

`job_cancel` fails a queued job at once (it will never be claimed) or flags a running one: the
handler's next progress report raises JobCancelled, so whatever transaction it has open rolls back."""

import logging
import threading
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connection, transaction
from django.db.models import Case, F, Q, TextField, Value, When
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from stratify.db import is_postgres

from .models import Job
from .registry import (
    JobCancelled,
    JobDeferred,
    JobFailed,
    JobSuperseded,
    get_handler,
    on_job_failed,
    registered_kinds,
)
from .routing import job_queue, kinds_sharing_queue, queue_for, tenant_queue_lock_key

logger = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15
MESSAGE_MAX_CHARS = 2000  # a job's message is shown on every job list: whatever a handler raised, it stays short


def _bounded(message: str) -> str:
    message = str(message)
    return message if len(message) <= MESSAGE_MAX_CHARS else message[: MESSAGE_MAX_CHARS - 1] + "…"


def _send(job_id: int, countdown: float | None = None, *, kind: str | None = None) -> None:
    """Hand job `job_id` to a worker, on the queue of its kind (routing.queue_for)."""
    from .tasks import run_job_task

    if countdown and run_job_task.app.conf.task_always_eager:
        # Eager mode cannot wait: resending a deferred job would run it again at once, recursively.
        # It stays queued; the periodic sweep resends it (a worker honours the countdown).
        logger.info("job %s deferred in eager mode: left queued for the sweep", job_id)
        return
    if kind is None:
        with scopes_disabled():
            kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first() or ""
    run_job_task.apply_async((job_id,), countdown=countdown, queue=queue_for(kind))


def job_enqueue(*, distributor, kind: str, params: dict | None = None, actor=None, dispatch: bool = True) -> Job:
    """Create a queued job; with `dispatch`, hand it to a worker (on its kind's queue) once the
    transaction commits."""
    job = Job.objects.create(
        distributor=distributor,
        kind=kind,
        params=params or {},
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if dispatch:
        transaction.on_commit(partial(_send, job.pk, kind=kind))
    return job


class ProgressReporter:
    """The `progress(percent, message="")` callback handed to job handlers. Raises `JobSuperseded`
    when this attempt no longer owns the job (the sweep requeued it).

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
            if self.heartbeat.superseded.is_set():
                raise JobSuperseded(f"job {self.job.pk}: attempt {self.job.attempts} was superseded")
            self.heartbeat.report(fields)
        elif not _mine(self.job).update(**fields):
            raise JobSuperseded(f"job {self.job.pk}: attempt {self.job.attempts} was superseded")
        self.job.progress = percent
        if message:
            self.job.message = message

    def outcome(self, message: str) -> None:
        """The job's last words, once its work is committed (after its `job_fence`): recorded with its
        success. Not a progress report: a cancel asked for now comes too late (the fence was the last
        moment to honour it), and checking it here would fail a job whose work is done and, for a
        run, published. Call it last, and only after the commit."""
        self.job.message = _bounded(message)


class _Heartbeat(threading.Thread):
    """Stamps the job every few seconds from its own connection, so a job inside one long
    transaction or one long SQL statement still shows it is alive; also writes the progress the
    handler reports from inside its own transactions (see ProgressReporter)."""

    def __init__(self, job: Job):
        super().__init__(daemon=True, name=f"job-{job.pk}-heartbeat")
        self.job_id, self.attempt = job.pk, job.attempts
        self.stopped = threading.Event()
        self.superseded = threading.Event()  # a beat found the job no longer ours (requeued, finished)
        self.beats = 0  # stamps written
        self.backend_pid: int | None = None  # PostgreSQL: the server process of this thread's connection
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
                    self._stamp(fields)
                except (DatabaseError, InterfaceError) as error:
                    # SQLite busy while the job writes, or the connection was lost (server restart,
                    # pg_terminate_backend, a proxy's idle timeout): drop it, the next beat reconnects.
                    # The values go back to the pending ones unless newer ones came meanwhile.
                    logger.warning("heartbeat of job %s skipped (%s): reconnecting", self.job_id, error)
                    with self._lock:
                        self._pending = {**fields, **self._pending}
                    self._close_connection()
        finally:
            self._close_connection()

    def _stamp(self, fields: dict) -> None:
        with scopes_disabled():
            stamped = Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING, attempts=self.attempt).update(
                **{**fields, "heartbeat_at": timezone.now()}
            )
        self.backend_pid = getattr(getattr(connection.connection, "info", None), "backend_pid", None)
        if stamped:
            self.beats += 1
        else:
            self.superseded.set()

    @staticmethod
    def _close_connection() -> None:
        try:
            connection.close()
        except (DatabaseError, InterfaceError):  # closing a connection the server already dropped
            connection.connection = None


WAITING_PREFIX = "Waiting for "  # the message of a job held back by the per-tenant share (cleared at its claim)
_WAIT = object()  # _claim's answer for a job held back: resend it later


def _tenant_share_taken(job: Job, now) -> int:
    """Inside the claim's transaction: how many jobs of `job`'s tenant run now on its queue (jobs
    with a stale heartbeat are not counted: their worker is gone and the sweep will requeue them).
    Takes the (tenant, queue) lock first, so two workers cannot both see a free share."""
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", tenant_queue_lock_key(job.distributor_id, job.kind))
    kinds = kinds_sharing_queue(job.kind, {*registered_kinds(), job.kind})
    fresh = now - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
    return (
        Job.objects.filter(
            distributor_id=job.distributor_id, status=Job.Status.RUNNING, kind__in=kinds, heartbeat_at__gte=fresh
        )
        .exclude(pk=job.pk)
        .count()
    )


def _fair() -> bool:
    """Per-tenant shares apply to workers; jobs run in-process (eager mode: tests, foreground) have
    no queue to share (and a job enqueued by a running job would wait for its parent forever)."""
    from .tasks import run_job_task

    return settings.JOB_MAX_RUNNING_PER_TENANT > 0 and not run_job_task.app.conf.task_always_eager


def _claim(job_id: int):
    """queued -> running in one conditional UPDATE; None when the job is not queued, _WAIT when its
    tenant already has its share running on the job's queue (routing.py: fairness across tenants)."""
    now = timezone.now()
    with scopes_disabled(), transaction.atomic():
        job = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).only("pk", "kind", "distributor_id").first()
        if job is None:
            return None
        if _fair() and _tenant_share_taken(job, now) >= settings.JOB_MAX_RUNNING_PER_TENANT:
            queue = job_queue(job.kind) or "default"
            Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
                message=f"{WAITING_PREFIX}this tenant's other {queue} jobs to finish.", heartbeat_at=now
            )
            return _WAIT
        claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            status=Job.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            attempts=F("attempts") + 1,
            progress=0,
            message=Case(
                When(message__startswith=WAITING_PREFIX, then=Value("")), default=F("message"), output_field=TextField()
            ),
        )
    with scopes_disabled():
        return Job.objects.select_related("distributor").get(pk=job_id) if claimed else None


def _mine(job: Job):
    """The job's row if `job` (this attempt) still owns it: running, and not claimed again since."""
    with scopes_disabled():
        return Job.objects.filter(
            pk=job.pk, distributor_id=job.distributor_id, status=Job.Status.RUNNING, attempts=job.attempts
        )


def job_still_mine(job: Job) -> bool:
    """Whether this attempt still owns the job (the sweep did not requeue it). A hint for long handlers
    that want to stop early; before writing results use `job_fence`, which also holds the row."""
    return _mine(job).exists()


def job_fence(job: Job) -> None:
    """Call as the last statement of the transaction that publishes an attempt's results (an import's
    merge, a run's scores and publish): raises `JobSuperseded` (rolling the transaction back) unless
    this attempt still owns the job. The check is an UPDATE that stamps the heartbeat, so it also locks
    the job row until the commit: a sweep that found the job stale waits, then sees the fresh stamp and
    leaves it alone; an attempt the sweep already requeued cannot commit.

    A cancel asked before it raises `JobCancelled` (the transaction rolls back: nothing published);
    one asked after waits for the row lock, and comes too late: the results are committed."""
    if not connection.in_atomic_block:
        raise RuntimeError("job_fence() belongs inside the transaction that writes the results.")
    if job.status != Job.Status.RUNNING:
        return  # a handler called directly (a test, a foreground command): no attempt to fence
    if _mine(job).filter(cancel_requested_at=None).update(heartbeat_at=timezone.now()):
        return  # the common case: one statement, which locks the row
    if _mine(job).exists():  # still ours, so a cancel was asked (and once asked, it stays asked)
        raise JobCancelled()
    raise JobSuperseded(f"job {job.pk}: attempt {job.attempts} was superseded")


def job_record_result(job: Job, result: dict) -> bool:
    """Store what a handler found before it fails (e.g. an import's errors), if this attempt still owns
    the job (a handler called directly, on a job never claimed, always does). Returns whether it did."""
    if job.status == Job.Status.RUNNING:
        rows = _mine(job)
    else:
        with scopes_disabled():
            rows = Job.objects.filter(distributor_id=job.distributor_id, pk=job.pk)
    if not rows.update(result=result):
        return False
    job.result = result
    return True


def _finish(job: Job, status: str, message: str, result: dict | None = None) -> bool:
    """Record the attempt's outcome if it still owns the job; returns whether it did. A failure runs
    the job's `job_failed_handler` hooks in the same transaction."""
    message = message[:5000]
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
    with transaction.atomic():
        won = bool(_mine(job).update(**fields))
        if won and status == Job.Status.FAILED:
            _settle_failed(job, message)
    if not won:
        logger.warning(
            "job %s: attempt %s was superseded; its outcome (%s) is not recorded", job.pk, job.attempts, status
        )
    return won


def _settle_failed(job: Job, message: str) -> None:
    """Inside the transaction that failed the job: let the records mirroring it follow. A hook's own
    error is logged and rolled back alone (a savepoint): the job stays failed."""
    try:
        with transaction.atomic(), scopes_disabled():
            on_job_failed(job, message)
    except Exception:
        logger.exception("job %s (%s): a job-failed hook failed", job.pk, job.kind)


def job_execute(job_id: int) -> Job | None:
    """Run a queued job to its end in this process. Returns None when it was not queued (a duplicate
    delivery, or already finished): running it again would do the work twice."""
    job = _claim(job_id)
    if job is _WAIT:
        logger.info("job %s waits: its tenant has its share of the queue running", job_id)
        _send(job_id, settings.JOB_FAIR_RETRY_SECONDS)
        return None
    if job is None:
        logger.info("job %s not claimed (not queued)", job_id)
        return None
    heartbeat = _Heartbeat(job)
    heartbeat.start()
    try:
        with scope(distributor=job.distributor):
            try:
                result = get_handler(job.kind)(job, ProgressReporter(job, heartbeat))
            except JobSuperseded:
                # The sweep requeued the job while this attempt ran: the newer attempt owns it.
                logger.warning("job %s: attempt %s stopped, superseded by a newer attempt", job.pk, job.attempts)
            except JobDeferred as deferred:
                if _mine(job).update(status=Job.Status.QUEUED, message=str(deferred), attempts=F("attempts") - 1):
                    transaction.on_commit(partial(_send, job.pk, deferred.countdown, kind=job.kind))
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


def job_run_here(*, distributor, kind: str, params: dict | None = None) -> Job:
    """Queue a job without sending it to a worker and run it to its end in this process (the management
    commands' foreground path). Returns the job as it ended; the caller reads its status and result."""
    with scope(distributor=distributor):
        job = job_enqueue(distributor=distributor, kind=kind, params=params, dispatch=False)
    job_execute(job.pk)
    with scope(distributor=distributor):
        job.refresh_from_db()
    return job


def job_cancel(*, distributor, job_id: int, actor=None, what: str = "written") -> Job:
    """Cancel a queued job (failed at once, never claimed) or ask a running one to stop (it fails at
    its next progress report, writing nothing its open transaction held). Returns the job as it is
    now; Job.DoesNotExist outside the tenant, JobNotCancellable once finished."""
    now = timezone.now()
    who = getattr(actor, "username", "") or "a manager"
    jobs = Job.objects.filter(distributor=distributor, pk=job_id)
    job = jobs.get()
    message = f"Cancelled by {who} before it started; nothing was {what}."
    with transaction.atomic():
        cancelled = jobs.filter(status=Job.Status.QUEUED).update(
            status=Job.Status.FAILED,
            message=message,
            result={"cancelled": True},
            cancel_requested_at=now,
            finished_at=now,
        )
        if cancelled:  # what mirrors the job (a run) follows it, as when a job fails
            _settle_failed(job, message)
    if cancelled:
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
        is_stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None)
        stale = Job.objects.filter(status=Job.Status.RUNNING).filter(is_stale)
        for job in stale.only("pk", "attempts", "kind", "distributor_id", "cancel_requested_at"):
            # Conditional on the staleness too: an attempt holding the row in `job_fence` stamps it, so
            # a sweep that waited for that lock leaves the job to the attempt that just published.
            still_stale = _mine(job).filter(is_stale)
            if job.cancel_requested_at is not None:  # lost while asked to stop: it stays stopped
                message = str(JobCancelled())
                with transaction.atomic():
                    if still_stale.update(
                        status=Job.Status.FAILED, message=message, result={"cancelled": True}, finished_at=now
                    ):
                        counts["failed"] += 1
                        _settle_failed(job, message)
                continue
            if job.attempts < settings.JOB_MAX_ATTEMPTS:
                if still_stale.update(
                    status=Job.Status.QUEUED, message="The worker was lost; the job was requeued.", heartbeat_at=now
                ):
                    counts["requeued"] += 1
                    transaction.on_commit(partial(_send, job.pk, kind=job.kind))
                continue
            message = f"The worker was lost {job.attempts} times; the job was stopped."
            with transaction.atomic():
                if still_stale.update(status=Job.Status.FAILED, message=message, finished_at=now):
                    counts["failed"] += 1
                    _settle_failed(job, message)
        forgotten = Job.objects.filter(status=Job.Status.QUEUED, created_at__lt=cutoff).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None)
        )
        for job_id, kind in forgotten.values_list("pk", "kind"):
            Job.objects.filter(pk=job_id).update(heartbeat_at=now)
            transaction.on_commit(partial(_send, job_id, kind=kind))
            counts["resent"] += 1
    return counts
