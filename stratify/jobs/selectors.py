from .models import Job


def job_list(*, distributor, kind: str | None = None):
    jobs = Job.objects.filter(distributor=distributor)
    return jobs.filter(kind=kind) if kind else jobs


def job_get(*, distributor, job_id: int) -> Job:
    return Job.objects.get(distributor=distributor, pk=job_id)
