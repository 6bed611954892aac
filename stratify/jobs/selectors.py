"""Reading jobs. Managers see every job of the tenant; anyone else only the jobs they started (a
rep must not read tenant-wide figures in a run's messages, nor another person's imports)."""

from stratify.tenancy.permissions import Role

from .models import Job

# Parameters that are the server's business (where an upload sits on disk): never shown.
PRIVATE_PARAMS = frozenset({"path"})


def job_list(*, distributor, kind: str | None = None, membership=None):
    jobs = Job.objects.filter(distributor=distributor)
    if membership is not None and membership.role != Role.MANAGER:
        jobs = jobs.filter(created_by_id=membership.user_id)
    return jobs.filter(kind=kind) if kind else jobs


def job_get(*, distributor, number: int, membership=None) -> Job:
    """The tenant's job #`number` (per tenant, as pages, URLs and the API name it)."""
    return job_list(distributor=distributor, membership=membership).get(number=number)


def public_params(job: Job) -> dict:
    """The job's parameters as pages and the API show them (no server path)."""
    return {key: value for key, value in (job.params or {}).items() if key not in PRIVATE_PARAMS}
