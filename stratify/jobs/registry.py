"""Job kinds and the functions that run them. Apps register handlers at import time:

    @job_handler("import")
    def run_import(job, progress): ...

A handler receives the claimed Job (inside the tenant's scope) and a `progress(percent, message="")`
callback (a `stratify.jobs.services.ProgressReporter`: it raises when the job was cancelled or
superseded, and `progress.outcome(message)`, once the work is committed, sets the job's final words
without that check); it returns a JSON-safe dict stored as the job's result, or raises `JobFailed` (a
clear message for the user) or any other exception (recorded, job failed).

Records that mirror a job (a stratification run, ...) register what to do when their job fails,
whichever way it fails (the handler raised, or the stale-job sweep gave up on a lost worker):

    @job_failed_handler("stratify")
    def run_failed(job, message): ...   # called in the transaction that marks the job failed

Only one attempt of a job may publish results. A requeued job fences off its older attempt: the
progress callback raises `JobSuperseded` in an attempt that lost the job, and a handler checks
`stratify.jobs.services.job_fence(job)` inside the transaction that writes its results, just before it
commits (see there)."""

from collections.abc import Callable
from typing import Any

from .routing import register_queue

Progress = Callable[..., None]
Handler = Callable[[Any, Progress], dict | None]
FailedHook = Callable[[Any, str], None]

_HANDLERS: dict[str, Handler] = {}
_FAILED_HOOKS: dict[str, list[FailedHook]] = {}

# The job an import enqueues when the manager asks for a re-stratification after it: the import
# pipeline names it here, the stratification app handles it (so neither imports the other).
RESTRATIFY_JOB_KIND = "restratify"

# The job a run's publish enqueues (after it commits) to raise the alerts of the newly published run:
# `segments` names it here, `alerts` handles it (segments sits below alerts and never imports it).
RAISE_ALERTS_JOB_KIND = "raise_alerts"

# The job a succeeded run enqueues to write its per-run tables of the supplier-cut scenario (issue 17):
# `segments` names it here, `operations` handles it (segments sits below operations).
CUT_TABLES_JOB_KIND = "cut_tables"


class JobFailed(Exception):
    """A failure with a message meant for the user (bad input, nothing to do...)."""


class JobCancelled(JobFailed):
    """Someone asked the job to stop (see services.job_cancel); raised by its progress callback."""

    def __init__(self, message: str = "Cancelled at a manager's request; nothing was written."):
        super().__init__(message)


class JobDeferred(Exception):
    """The job cannot run yet (e.g. another run holds the tenant); it goes back to the queue."""

    def __init__(self, message: str = "", countdown: float = 5.0):
        super().__init__(message)
        self.countdown = countdown


class JobSuperseded(BaseException):  # noqa: N818 - a signal like asyncio.CancelledError, not an error
    """This attempt no longer owns its job: the sweep requeued it (its heartbeat went stale) and
    another attempt may be running it. Whatever the attempt was about to write must not be written.

    A BaseException, like asyncio.CancelledError: a handler's `except Exception:` cleanup (e.g. one
    that marks its run failed) must not treat it as a failure of the work, which the newer attempt now
    owns. Transactions it passes through roll back; `job_execute` swallows it and records nothing."""


# What each kind of job is called on the pages (the kinds are codes; any other kind is shown humanised).
KIND_LABELS = {
    "import": "Import",
    "stratify": "Model run",
    RESTRATIFY_JOB_KIND: "Model run after an import",
    "profit_centers": "Profit centers",
    CUT_TABLES_JOB_KIND: "Supplier cut tables",
    RAISE_ALERTS_JOB_KIND: "Alerts",
}


def kind_label(kind: str) -> str:
    """A job kind in words, for people."""
    return KIND_LABELS.get(kind) or kind.replace("_", " ").capitalize()


def job_handler(kind: str, *, queue: str | None = None) -> Callable[[Handler], Handler]:
    """Register the handler of `kind`; `queue` (one of routing.JOB_QUEUES: "imports", "runs",
    "insights", "email") is the Celery queue its jobs go to (see stratify/jobs/routing.py)."""
    register_queue(kind, queue)

    def register(func: Handler) -> Handler:
        _HANDLERS[kind] = func
        return func

    return register


def registered_kinds() -> list[str]:
    return list(_HANDLERS)


def get_handler(kind: str) -> Handler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise JobFailed(f"Unknown job kind {kind!r}.") from None


def job_failed_handler(kind: str) -> Callable[[FailedHook], FailedHook]:
    """Register `hook(job, message)`, called for every job of `kind` that fails, inside the transaction
    that marks it failed (so a record mirroring the job never says "running" after its job failed).
    The hook must filter by `job.distributor_id` itself: the sweep runs outside any tenant scope."""

    def register(func: FailedHook) -> FailedHook:
        hooks = _FAILED_HOOKS.setdefault(kind, [])
        if func not in hooks:
            hooks.append(func)
        return func

    return register


def on_job_failed(job, message: str) -> None:
    """Run the hooks registered for `job.kind` (the job needs pk, kind and distributor_id)."""
    for hook in _FAILED_HOOKS.get(job.kind, ()):
        hook(job, message)
