"""Job handlers of the segments app (registered from SegmentsConfig.ready)."""

from django_scopes import scopes_disabled

from stratify.jobs.registry import RESTRATIFY_JOB_KIND, job_failed_handler, job_handler

from .services import JOB_KIND, restratify_after_import, run_execute
from .services.profit import PROFIT_JOB_KIND, profit_centers_execute
from .services.runs import runs_fail_for_job


@job_handler(JOB_KIND, queue="runs")
def stratify_job(job, progress) -> dict:
    return run_execute(job, progress)


@job_handler(RESTRATIFY_JOB_KIND, queue="runs")
def restratify_job(job, progress) -> dict:
    """After an import that asked for it: queue a published run (none when there are no lines).
    A redelivered message finds its job already done (jobs are claimed once)."""
    run = restratify_after_import(distributor=job.distributor, actor=job.created_by)
    return {"run_id": run.number if run else None, "after_import": job.params.get("after_import")}


@job_failed_handler(JOB_KIND)
def stratify_job_failed(job, message: str) -> None:
    """The run follows its job: failed, with the job's message, in the transaction that failed the job
    (also when the sweep gave up on a lost worker, so the run page, the dashboard and the scheduler
    never see a run "running" whose job is over). A run already finished keeps what it has."""
    with scopes_disabled():  # the sweep runs outside any tenant scope: filtered by the job's tenant
        runs_fail_for_job(distributor_id=job.distributor_id, job_id=job.pk, message=message)


@job_handler(PROFIT_JOB_KIND, queue="insights")
def profit_centers_job(job, progress) -> dict:
    return profit_centers_execute(job, progress)
