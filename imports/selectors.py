"""Reading import jobs (an import is a Job of kind "import")."""

from stratify.jobs.registry import RESTRATIFY_JOB_KIND
from stratify.jobs.selectors import job_list

from .services import JOB_KIND


def import_list(*, distributor):
    return job_list(distributor=distributor, kind=JOB_KIND)


def import_get(*, distributor, number: int):
    """The tenant's import #`number` (imports share the tenant's job numbering)."""
    return import_list(distributor=distributor).get(number=number)


def import_follow_up(*, job):
    """The `restratify` job an import enqueued (None when it asked for none); named by its number."""
    follow_up = (job.result or {}).get("restratify_job")
    if not follow_up:
        return None
    return job_list(distributor=job.distributor, kind=RESTRATIFY_JOB_KIND).filter(number=follow_up).first()
