"""Job handlers of the segments app (registered from SegmentsConfig.ready)."""

from stratify.jobs.registry import job_handler

from .services import JOB_KIND, run_execute


@job_handler(JOB_KIND)
def stratify_job(job, progress) -> dict:
    return run_execute(job, progress)
