"""Which Celery queue a job goes to, and how many jobs of one tenant may run at once on a queue.

Queues by kind of work (docs/OPERATIONS.md "Workers and queues"), so a long import never holds up a
run, and alerts or e-mail never hold up either:

    imports    "import"                                   minutes at 10M lines, I/O and COPY bound
    runs       "stratify", "restratify"                   seconds; what a manager waits for
    insights   "profit_centers", "cut_tables", alert kinds   computed after a run, nobody waits
    email      e-mail kinds                               many, tiny, slow network

A kind says its queue where it registers (`@job_handler("import", queue="imports")`); a kind
registered without one is routed by name (below) or, failing that, to the default queue
(CELERY_TASK_DEFAULT_QUEUE, which also carries beat's periodic tasks). Every name is prefixed with
JOB_QUEUE_PREFIX (empty in production; the test session's own prefix in tests, so parallel sessions
never take each other's messages).

Fairness across tenants (the choice, and why): on each queue at most JOB_MAX_RUNNING_PER_TENANT jobs of
one tenant run at once (default 1). A worker that takes a tenant's message while that tenant already
has its share running on the queue does not start it: the job stays queued ("waiting for ...") and its
message goes back to the queue with a short countdown (JOB_FAIR_RETRY_SECONDS), so the worker slot
takes the next message — another tenant's. A tenant that enqueues twenty imports therefore holds one
import slot, not all of them; the others wait their turn without blocking anyone. This is decided when
the job is claimed, in the claim's own transaction, under a lock per (tenant, queue) (an advisory lock
on PostgreSQL; SQLite's write transactions are serialised already), so two workers can never both
start a tenant's second job. Chosen over per-tenant queues (unbounded queue count, workers would have
to discover them) and over worker-side scheduling (needs a coordinator): it needs nothing but the Job
table, works the same on every broker, and is checked in one statement."""

from __future__ import annotations

import zlib

from django.conf import settings

IMPORTS, RUNS, INSIGHTS, EMAIL = "imports", "runs", "insights", "email"
JOB_QUEUES = (IMPORTS, RUNS, INSIGHTS, EMAIL)

_KIND_QUEUE: dict[str, str] = {}  # filled by job_handler(kind, queue=...)
# Kinds the platform knows, for handlers registered without a queue (e.g. by code written before
# queues existed), and name patterns for the kinds other apps add.
_KNOWN = {"import": IMPORTS, "stratify": RUNS, "restratify": RUNS, "profit_centers": INSIGHTS}
_BY_NAME = (("alert", INSIGHTS), ("insight", INSIGHTS), ("mail", EMAIL), ("notice", EMAIL), ("digest", EMAIL))


def register_queue(kind: str, queue: str | None) -> None:
    if queue is None:
        return
    if queue not in JOB_QUEUES:
        raise ValueError(f"Unknown job queue {queue!r}: one of {', '.join(JOB_QUEUES)}.")
    _KIND_QUEUE[kind] = queue


def queue_name(queue: str) -> str:
    """The broker's name of one of JOB_QUEUES (with this deployment's prefix)."""
    return f"{settings.JOB_QUEUE_PREFIX}{queue}"


def job_queue(kind: str) -> str | None:
    """The logical queue of a job kind (one of JOB_QUEUES), or None: the default queue."""
    if kind in _KIND_QUEUE:
        return _KIND_QUEUE[kind]
    if kind in _KNOWN:
        return _KNOWN[kind]
    lowered = kind.lower()
    for part, queue in _BY_NAME:
        if part in lowered:
            return queue
    return None


def queue_for(kind: str) -> str:
    """The broker queue a job of `kind` is sent to."""
    queue = job_queue(kind)
    return queue_name(queue) if queue else settings.CELERY_TASK_DEFAULT_QUEUE


def kinds_sharing_queue(kind: str, known_kinds) -> list[str]:
    """Of `known_kinds`, those routed to the same queue as `kind` (itself included)."""
    queue = job_queue(kind)
    return sorted({k for k in known_kinds if job_queue(k) == queue} | {kind})


def all_queue_names() -> list[str]:
    """Every queue a worker consuming "everything" listens to: the default one and the job queues."""
    return [settings.CELERY_TASK_DEFAULT_QUEUE, *(queue_name(q) for q in JOB_QUEUES)]


def tenant_queue_lock_key(distributor_id: int, kind: str) -> tuple[int, int]:
    """The two 32-bit keys of the advisory lock guarding a tenant's claims on a queue."""
    queue = job_queue(kind) or "default"
    return int(distributor_id) & 0x7FFFFFFF, zlib.crc32(f"stratify-queue:{queue}".encode()) & 0x7FFFFFFF
