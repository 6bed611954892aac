"""The `raise_alerts` job: enqueued by a run's publish (by kind name, see
stratify.jobs.registry.RAISE_ALERTS_JOB_KIND), params {"run": <run number>}."""

from segments.models import StratificationRun
from stratify.jobs.registry import RAISE_ALERTS_JOB_KIND, JobFailed, job_handler

from .services import AlertError, alerts_raise, run_for_alerts


@job_handler(RAISE_ALERTS_JOB_KIND)
def raise_alerts_job(job, progress) -> dict:
    try:
        run = run_for_alerts(distributor=job.distributor, number=job.params.get("run"))
    except AlertError as error:
        raise JobFailed(str(error)) from None
    if run.status != StratificationRun.Status.SUCCEEDED:
        raise JobFailed(f"Run #{run.number} is {run.status}: it raises no alerts.")
    result = alerts_raise(distributor=job.distributor, run=run, job=job, progress=progress)
    total = sum(result.get("counts", {}).values())
    if result.get("already"):
        progress.outcome(f"Run #{run.number}: its {total:,} alerts were already raised; nothing changed")
    elif result.get("skipped"):
        progress.outcome(f"Run #{run.number}: not raised, {result['skipped']}")
    else:
        progress.outcome(f"Run #{run.number}: {total:,} alerts")
    return result
