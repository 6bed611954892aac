"""Thin Celery tasks of the segments app."""

from celery import shared_task

from .services import runs_schedule_due


@shared_task(name="segments.tasks.run_scheduled_stratifications_task")
def run_scheduled_stratifications_task() -> list[int]:
    """Hourly (CELERY_BEAT_SCHEDULE): enqueue the published runs of tenants whose schedule is due."""
    return runs_schedule_due()
