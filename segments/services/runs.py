"""Requesting runs: a queued run with the exact, complete settings it will use, and its job (kind
"stratify", see `segments.jobs`); cancelling one; and settling runs whose job failed without them
knowing."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from stratify.formatting import format_date
from stratify.jobs.models import Job
from stratify.jobs.services import JobNotCancellable, job_cancel, job_enqueue

from .. import aggregates as agg
from ..models import CustomerScore, StratificationRun
from .model_settings import settings_resolve

JOB_KIND = "stratify"
Status = StratificationRun.Status


class RunError(Exception):
    """A request about a run that cannot be honoured (e.g. publishing twice); the API answers 400."""


def run_request(
    *,
    distributor,
    actor=None,
    overrides: dict | None = None,
    as_of: date | None = None,
    publish: bool = False,
    dispatch: bool = True,
) -> StratificationRun:
    """Create a queued run with the exact, complete settings it will use, and its job. With
    `dispatch`, a worker picks it up once the transaction commits; otherwise call `job_execute`.
    Raises ValidationError naming the fields at fault (the settings', `as_of`)."""
    model_settings = settings_resolve(distributor=distributor, overrides=overrides)
    if as_of is not None:
        as_of_check(distributor=distributor, as_of=as_of)
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        run = StratificationRun.objects.create(
            distributor=distributor,
            settings=model_settings.to_dict(),
            as_of=as_of,
            publish_requested=bool(publish),
            created_by=user,
        )
        job = job_enqueue(
            distributor=distributor, kind=JOB_KIND, params={"run_id": run.number}, actor=user, dispatch=dispatch
        )
        run.job = job
        run.save(update_fields=["job"])
    return run


def as_of_check(*, distributor, as_of: date) -> None:
    """A run's `as_of` lies from the tenant's first invoice date to today: before, its window holds no
    line (the run could only fail); after, it would rank days that have not happened. Raises
    ValidationError naming `as_of` (nothing to check for a tenant without lines: the run says so)."""
    first = agg.first_invoice_date(distributor=distributor)
    if first is None:
        return
    today = timezone.localdate()
    if as_of < first:
        message = (
            f"The as-of date may not be before the first invoice date ({format_date(first, distributor)}): "
            "the run would have no purchases to rank."
        )
    elif as_of > today:
        message = f"The as-of date may not be after today ({format_date(today, distributor)})."
    else:
        return
    raise ValidationError({"as_of": [message]})


def restratify_after_import(*, distributor, actor=None) -> StratificationRun | None:
    """For the import code, when the manager asked for it (`restratify=true`): enqueue a published run
    once the import's transaction commits. None when the tenant has no invoice lines to rank."""
    if not agg.has_lines(distributor=distributor):
        return None
    return run_request(distributor=distributor, actor=actor, publish=True)


def run_cancel(*, distributor, run: StratificationRun, actor=None) -> StratificationRun:
    """Cancel a queued run (failed at once: its job is never claimed) or ask a running one to stop (it
    fails at its next step, before it publishes). The published run stays as it is either way.
    RunError once the run has finished (a succeeded run is kept or published, not cancelled)."""
    if run.status not in (Status.QUEUED, Status.RUNNING) or run.job_id is None:
        raise RunError(f"Run #{run.number} has already finished ({run.get_status_display().lower()}).")
    too_late = RunError(f"Run #{run.number} has just finished: it can no longer be cancelled.")
    try:
        job_cancel(distributor=distributor, job_id=run.job_id, actor=actor, what="published")
    except JobNotCancellable:
        raise too_late from None
    run.refresh_from_db()
    if run.status == Status.SUCCEEDED:  # it committed (and published, if asked) before the request
        raise too_late
    return run


def runs_fail_for_job(*, distributor_id: int, job_id: int, message: str) -> int:
    """The run of a failed job follows it: failed, with the job's message, keeping none of the scores
    it may have written before it failed (a run fails before it publishes: what is published stays).
    A run already finished keeps what it has. Returns how many runs changed (0 or 1)."""
    failing = StratificationRun.objects.filter(
        distributor_id=distributor_id, job_id=job_id, status__in=[Status.QUEUED, Status.RUNNING]
    )
    CustomerScore.objects.filter(distributor_id=distributor_id, run__in=failing).delete()
    return failing.update(
        status=Status.FAILED, message=(message or "The run's job failed.")[:5000], finished_at=timezone.now()
    )


def runs_reconcile(*, distributor) -> int:
    """Mark failed the runs whose job failed without them knowing (a safety net: the job-failed hook in
    `segments.jobs` settles them in the failing transaction). Returns how many were fixed."""
    stale = StratificationRun.objects.filter(
        distributor=distributor, status__in=[Status.QUEUED, Status.RUNNING], job__status=Job.Status.FAILED
    ).values_list("job_id", "job__message")
    fixed = 0
    for job_id, message in stale:
        with transaction.atomic():  # a run's scores and its status go together
            fixed += runs_fail_for_job(distributor_id=distributor.pk, job_id=job_id, message=message)
    return fixed
