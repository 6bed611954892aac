"""The schedule: the hourly beat task enqueues a published run for each tenant whose weekly or
monthly schedule is due."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from .. import aggregates as agg
from ..models import StratificationProfile, StratificationRun
from .runs import run_request, runs_reconcile

logger = logging.getLogger(__name__)
Status = StratificationRun.Status


def _due(schedule: str, last: Any, now) -> bool:
    if last is None:
        return True
    if schedule == StratificationProfile.Schedule.WEEKLY:
        return last <= now - timedelta(days=7)
    if schedule == StratificationProfile.Schedule.MONTHLY:
        month, year = (now.month - 1, now.year) if now.month > 1 else (12, now.year - 1)
        day = min(now.day, 28)
        return last <= now.replace(year=year, month=month, day=day)
    return False


def runs_schedule_due(*, now=None) -> list[int]:
    """Enqueue a published run for each tenant whose schedule is due (weekly: 7 days after its last
    scheduled or published run; monthly: a month after). Skips tenants with a run queued or running,
    and tenants without invoice lines. Returns the new run ids."""
    now = now or timezone.now()
    created: list[int] = []
    with scopes_disabled():
        profiles = list(
            StratificationProfile.objects.exclude(schedule=StratificationProfile.Schedule.OFF).select_related(
                "distributor"
            )
        )
    for profile in profiles:
        distributor = profile.distributor
        with scope(distributor=distributor):
            # A safety net for runs whose job failed before the job-failed hook settled them (the hook
            # in segments.jobs does it in the sweep's own transaction since).
            runs_reconcile(distributor=distributor)
            runs = StratificationRun.objects.filter(distributor=distributor)
            if runs.filter(status__in=[Status.QUEUED, Status.RUNNING]).exists():
                continue
            last = runs.filter(publish_requested=True).exclude(status=Status.FAILED).order_by("-created_at")
            last_at = last.values_list("created_at", flat=True).first()
            if not _due(profile.schedule, last_at, now) or not agg.has_lines(distributor=distributor):
                continue
            try:
                created.append(run_request(distributor=distributor, actor=None, publish=True).pk)
            except ValidationError:
                logger.exception("scheduled run of %s: invalid settings", distributor.slug)
    return created
