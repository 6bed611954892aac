"""Thin Celery tasks of the alerts app."""

from celery import shared_task

from .digest import digests_send


@shared_task(name="alerts.tasks.send_weekly_digests_task")
def send_weekly_digests_task() -> int:
    """Weekly (CELERY_BEAT_SCHEDULE, Monday morning): the alerts digest to every subscribed rep and manager."""
    return digests_send()
