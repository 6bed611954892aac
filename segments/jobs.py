"""Job handlers of the segments app (registered from SegmentsConfig.ready)."""

from stratify.jobs.registry import RESTRATIFY_JOB_KIND, job_handler

from .services import JOB_KIND, restratify_after_import, run_execute


@job_handler(JOB_KIND)
def stratify_job(job, progress) -> dict:
    return run_execute(job, progress)


@job_handler(RESTRATIFY_JOB_KIND)
def restratify_job(job, progress) -> dict:
    """After an import that asked for it: queue a published run (none when there are no lines).
    A redelivered message finds its job already done (jobs are claimed once)."""
    run = restratify_after_import(distributor=job.distributor, actor=job.created_by)
    return {"run_id": run.pk if run else None, "after_import": job.params.get("after_import")}
