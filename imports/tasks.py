"""Periodic upkeep of imports (scheduled in CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from .errors import error_files_purge
from .uploads import uploads_purge


@shared_task(name="imports.tasks.purge_uploads_task")
def purge_uploads_task() -> int:
    return uploads_purge()


@shared_task(name="imports.tasks.purge_error_files_task")
def purge_error_files_task() -> int:
    return error_files_purge()
