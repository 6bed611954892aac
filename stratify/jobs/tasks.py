"""Thin Celery tasks: they take ids and call the job services."""

from celery import shared_task

from .services import job_execute, jobs_sweep_stale


@shared_task(name="stratify.jobs.tasks.run_job_task", acks_late=True, reject_on_worker_lost=True)
def run_job_task(job_id: int) -> None:
    job_execute(job_id)


@shared_task(name="stratify.jobs.tasks.sweep_stale_jobs_task")
def sweep_stale_jobs_task() -> dict:
    return jobs_sweep_stale()
