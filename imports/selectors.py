"""Reading import jobs (an import is a Job of kind "import")."""

from stratify.jobs.selectors import job_list

from .services import JOB_KIND


def import_list(*, distributor):
    return job_list(distributor=distributor, kind=JOB_KIND)


def import_get(*, distributor, number: int):
    """The tenant's import #`number` (imports share the tenant's job numbering)."""
    return import_list(distributor=distributor).get(number=number)
