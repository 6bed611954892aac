"""The `cut_tables` job: enqueued by every succeeded run (by kind name, see
stratify.jobs.registry.CUT_TABLES_JOB_KIND), params {"run": <run number>}: writes the run's tables of the
supplier-cut scenario (`services.cut_tables_write`), so that no cut, not even the first after a
publication, reads every window line."""

from django.db import transaction

from segments.models import StratificationRun
from stratify.jobs.registry import CUT_TABLES_JOB_KIND, JobFailed, job_handler
from stratify.jobs.services import job_fence

from .selectors import cut_tables
from .services import cut_tables_write


@job_handler(CUT_TABLES_JOB_KIND, queue="insights")
def cut_tables_job(job, progress) -> dict:
    run = StratificationRun.objects.filter(distributor=job.distributor, number=job.params.get("run")).first()
    if run is None or run.status != StratificationRun.Status.SUCCEEDED:
        raise JobFailed(f"Run #{job.params.get('run')} has not succeeded: it has no cut tables.")
    if cut_tables(distributor=job.distributor, run=run) is not None:
        return {"run": run.number, "already": True}
    progress(5, f"Summing the window's lines of run #{run.number} per customer, supplier and brand")
    with transaction.atomic():
        tables = cut_tables_write(distributor=job.distributor, run=run)
        job_fence(job)  # an attempt the sweep requeued meanwhile writes nothing
    # The finished job's message says what it did (not its last step, which read as still working).
    progress.outcome(f"Run #{run.number}: supplier cuts ready ({tables.pairs:,} customer and supplier pairs)")
    return {"run": run.number, "pairs": tables.pairs, "core_products": tables.core_products, "seconds": tables.seconds}
