"""A run's profit centers (docs PROFIT_CENTERS.md), computed by a job of their own after the run.

Why not inside the run: at 1M lines they take about 50 s against the run's few seconds (see
docs/BENCHMARKS.md), and the run must stay fast and publish without waiting. They must still describe
exactly the data the run ranked: the job reads in one snapshot, and first checks that the data is the
data the run saw (`data_seen`: the latest invoice date and the last import); if an import has landed
since, it fails saying so, and the next run computes them. Re-running the job for the same run
changes nothing (rows already written are kept)."""

from __future__ import annotations

import time

from django.db import transaction

from stratify.engine import ModelSettings
from stratify.jobs.models import Job
from stratify.jobs.registry import JobFailed
from stratify.jobs.services import job_execute, job_fence, job_run_here

from .. import profit_centers as pc
from ..models import ProfitCenter, StratificationRun
from ..selectors import run_profit_input
from .profit_writer import profit_curves, profit_rows, write_profit_centers

PROFIT_JOB_KIND = "profit_centers"


def profit_centers_execute(job, progress) -> dict:
    distributor = job.distributor
    run = StratificationRun.objects.get(distributor=distributor, number=job.params["run"])
    if run.status != StratificationRun.Status.SUCCEEDED:
        raise JobFailed(f"Run #{run.number} is {run.status}: it has no profit centers.")
    if ProfitCenter.objects.filter(distributor=distributor, run=run).exists():
        return {"run": run.number, "rows": 0, "already": True}
    model_settings = ModelSettings.from_dict(run.settings)
    progress(5, f"Reading the lines of run #{run.number}")
    clock = time.perf_counter()
    try:
        data = run_profit_input(distributor=distributor, run=run)
    except MemoryError as error:  # DuckDB's memory bound (settings.PROFIT_CENTERS_MEMORY): say so
        raise JobFailed(str(error)) from error
    if data is None:
        raise JobFailed(
            f"The data changed since run #{run.number} was computed (an import landed): run the "
            "stratification again to get its profit centers."
        )
    timings = {"read": _since(clock)}
    progress(40, "Computing the profit centers")
    clock = time.perf_counter()
    tables = pc.compute(data, model_settings)
    rows, curves = profit_rows(run, tables), profit_curves(run, tables)
    timings["compute"] = _since(clock)
    progress(80, "Writing the profit centers")
    clock = time.perf_counter()
    with transaction.atomic():
        write_profit_centers(run, rows, curves)
        job_fence(job)  # an attempt the sweep requeued meanwhile writes nothing
    timings["write"] = _since(clock)
    # The finished job's message says what it did (not its last step, which read as still working).
    progress.outcome(f"Run #{run.number}: profit centers ready ({len(rows):,} values and cells)")
    return {"run": run.number, "rows": len(rows), "timings": timings}


def follow_ups_execute(*, distributor, run, kinds: tuple[str, ...]) -> list[Job]:
    """Run here, to their end, the jobs of `kinds` queued for `run` (what a succeeded run and its
    publication enqueue for the workers: profit centers, cut tables, alerts), for the commands that
    work in the foreground with no worker. A job a worker claimed meanwhile is left to it. Returns
    the jobs run here, as they ended."""
    queued = Job.objects.filter(
        distributor=distributor, kind__in=kinds, params__run=run.number, status=Job.Status.QUEUED
    ).order_by("pk")
    done = [job_execute(pk) for pk in list(queued.values_list("pk", flat=True))]
    return [job for job in done if job is not None]


def profit_centers_ensure(*, distributor, run) -> Job | None:
    """Make sure `run`'s profit centers are computed, here when they are not yet (the export command
    with no worker): the job the run queued, else a new one. None when they were there already; else
    the job as it ended (its status and message say whether they are now)."""
    if ProfitCenter.objects.filter(distributor=distributor, run=run).exists():
        return None
    ran = follow_ups_execute(distributor=distributor, run=run, kinds=(PROFIT_JOB_KIND,))
    if ran:
        return ran[-1]
    return job_run_here(distributor=distributor, kind=PROFIT_JOB_KIND, params={"run": run.number})


def _since(clock: float) -> float:
    return round(time.perf_counter() - clock, 3)
