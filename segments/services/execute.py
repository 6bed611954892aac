"""Executing a run, the body of the "stratify" job: SQL aggregates over the line summaries, the
engine's scores, the score rows written under the run, then (when asked) publication in the same
transaction as the run's success. One run computes at a time per tenant (others are deferred and
wait); a failed or killed run never touches what is published."""

from __future__ import annotations

import time
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from stratify.engine import LAPSED, SEGMENTS, ModelSettings, stratify
from stratify.jobs.models import Job
from stratify.jobs.registry import CUT_TABLES_JOB_KIND, JobDeferred, JobFailed
from stratify.jobs.services import job_enqueue, job_fence

from .. import aggregates as agg
from ..models import CustomerScore, StratificationProfile, StratificationRun
from ..vocabulary import SEGMENT_LABELS
from .model_settings import profile_lock
from .profit import PROFIT_JOB_KIND
from .publish import publish_in_transaction
from .score_writer import score_rows, write_scores

CENT = Decimal("0.01")
Status = StratificationRun.Status


def _money_str(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


def _start(run: StratificationRun) -> None:
    """Take the tenant for this run, or defer: another run of the tenant whose job is running holds it.
    The profile row lock serialises two runs starting at the same moment."""
    with transaction.atomic():
        profile_lock(distributor=run.distributor)
        busy = (
            StratificationRun.objects.filter(
                distributor=run.distributor, status=Status.RUNNING, job__status=Job.Status.RUNNING
            )
            .exclude(pk=run.pk)
            .first()
        )
        if busy is not None:
            raise JobDeferred(f"Waiting for run #{busy.number} of this distributor to finish.", countdown=5.0)
        StratificationRun.objects.filter(distributor_id=run.distributor_id, pk=run.pk).update(
            status=Status.RUNNING, started_at=timezone.now(), message="", finished_at=None
        )


def _totals(result) -> dict:
    totals = {}
    for segment in SEGMENTS:
        t = result.totals.get(segment, {})
        totals[segment] = {
            "count": int(t.get("count", 0)),
            **{k: _money_str(t.get(k, Decimal(0))) for k in ("revenue", "gross_margin", "cost_to_serve", "net_profit")},
        }
    totals[LAPSED] = {"count": len(result.lapsed)}
    return totals


def run_execute(job, progress) -> dict:
    """The body of the "stratify" job: aggregate in SQL, score with the engine, write, publish."""
    run = StratificationRun.objects.select_related("distributor").get(distributor=job.distributor, job=job)
    if run.status in (Status.SUCCEEDED, Status.FAILED):
        return {"run_id": run.number, "status": run.status}
    _start(run)
    # A failure (or a cancel) fails the job, and the run follows it in that transaction, keeping
    # none of its scores: `segments.jobs.stratify_job_failed`.
    return _compute(run, job, progress)


def _compute(run: StratificationRun, job, progress) -> dict:
    distributor = run.distributor
    timings: dict[str, float] = {}
    started = time.perf_counter()
    model_settings = ModelSettings.from_dict(run.settings)

    progress(2, "Reading invoice lines")
    tick = time.perf_counter()
    data = agg.read_run_input(distributor=distributor, as_of=run.as_of, window_days=model_settings.window_days)
    if data is None:
        raise JobFailed("This distributor has no invoice lines yet: import invoice lines, then run again.")
    as_of, aggregates, deliveries = data.as_of, data.aggregates, data.deliveries
    timings["aggregate_seconds"] = round(time.perf_counter() - tick, 3)
    if not (aggregates["window_lines"] > 0).any():
        raise JobFailed(
            f"No invoice lines in the {model_settings.window_days}-day window ending {as_of.isoformat()}: "
            "nothing to rank."
        )
    progress(40, f"Scoring {int((aggregates['window_lines'] > 0).sum())} active customers")

    tick = time.perf_counter()
    result = stratify(aggregates, deliveries, model_settings, progress=lambda p: progress(40 + p * 0.3))
    timings["engine_seconds"] = round(time.perf_counter() - tick, 3)

    progress(72, "Writing scores")
    tick = time.perf_counter()
    published = (
        StratificationProfile.objects.filter(distributor=distributor).values_list("current_run", flat=True).first()
    )
    previous = (
        dict(
            CustomerScore.objects.filter(distributor=distributor, run_id=published).values_list(
                "customer_id", "segment"
            )
        )
        if published
        else {}
    )
    frame = score_rows(run, result, data.customer_keys, previous)
    totals = _totals(result)
    with transaction.atomic():
        write_scores(run, frame)
        job_fence(job)  # an attempt the sweep requeued meanwhile writes nothing
        StratificationRun.objects.filter(distributor_id=run.distributor_id, pk=run.pk).update(
            as_of=as_of, compared_to_id=published, totals=totals, timings=timings, data_seen=data.data_seen
        )
    timings["write_seconds"] = round(time.perf_counter() - tick, 3)

    progress(95, "Publishing" if run.publish_requested else "Finishing")
    run.refresh_from_db()
    with transaction.atomic():
        timings["total_seconds"] = round(time.perf_counter() - started, 3)
        StratificationRun.objects.filter(distributor_id=run.distributor_id, pk=run.pk).update(
            status=Status.SUCCEEDED, finished_at=timezone.now(), timings=timings, message=""
        )
        run.refresh_from_db()
        if run.publish_requested:
            publish_in_transaction(run)
        # The run's profit centers follow in a job of their own (segments.services.profit), from the
        # same data: the run is published without waiting for them.
        # So do the tables of the operations' cut scenario (handled by `operations`, by kind name),
        # first: they take a fraction of the profit centers' time on the same queue, and until they
        # are written a cut reads the window's lines (the same figures, seconds at 10M lines).
        job_enqueue(distributor=distributor, kind=CUT_TABLES_JOB_KIND, params={"run": run.number})
        job_enqueue(distributor=distributor, kind=PROFIT_JOB_KIND, params={"run": run.number})
        job_fence(job)  # only the attempt that still owns the job may publish
    counts = {segment: totals[segment]["count"] for segment in (*SEGMENTS, LAPSED)}
    summary = ", ".join(f"{SEGMENT_LABELS.get(segment, segment)} {count:,}" for segment, count in counts.items())
    progress.outcome(f"Run #{run.number}: {summary}" + (" (published)" if run.publish_requested else ""))
    return {"run_id": run.number, "as_of": as_of.isoformat(), "counts": counts, "published": run.publish_requested}
