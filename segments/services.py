"""Stratification services: model settings per tenant (validated, with history), runs (request,
execute as a job, publish, compare) and the schedule.

A run is a `Job` of kind "stratify" (see `segments.jobs`): the job machinery claims it atomically, so
a duplicate delivery does nothing. `run_execute` lets one run at a time compute per tenant (others are
deferred and wait), writes every score under the run, and publishes by switching the profile's
`current_run` in one transaction at the very end, so a failed or killed run never touches what is
published."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from pandas.io.json import ujson_dumps
from psycopg import postgres, pq
from psycopg.adapt import Dumper
from psycopg.copy import QueuedLibpqWriter

from stratify.engine import FACTORS, LAPSED, SEGMENTS, ModelSettings, stratify, validate_settings
from stratify.jobs.models import Job
from stratify.jobs.registry import JobDeferred, JobFailed
from stratify.jobs.services import job_enqueue

from . import aggregates as agg
from .models import CustomerScore, SettingsChange, StratificationProfile, StratificationRun
from .selectors import profile_get

logger = logging.getLogger(__name__)
JOB_KIND = "stratify"
CENT = Decimal("0.01")
WRITE_CHUNK = 10_000  # score rows encoded and sent at a time
Status = StratificationRun.Status


class RunError(Exception):
    """A request about a run that cannot be honoured (e.g. publishing twice); the API answers 400."""


# --- settings -----------------------------------------------------------------------------------


def _validation_error(errors: dict[str, list[str]]) -> ValidationError:
    return ValidationError(dict(errors))


def settings_effective(*, distributor) -> ModelSettings:
    """The tenant's overrides merged over the defaults of STRATIFICATION.md."""
    return ModelSettings().with_overrides(profile_get(distributor=distributor).settings)


def settings_resolve(*, distributor, overrides: dict | None = None) -> ModelSettings:
    """The tenant's settings with a run's what-if `overrides` on top; ValidationError naming fields."""
    base = profile_get(distributor=distributor).settings
    merged = {**base, **(overrides or {})}
    if not isinstance(overrides or {}, dict):
        raise _validation_error({"settings": ["must be an object"]})
    errors = validate_settings(merged)
    if errors:
        raise _validation_error(errors)
    return ModelSettings().with_overrides(merged)


def settings_update(*, distributor, actor, settings: dict, partial: bool = False) -> StratificationProfile:
    """Replace (or with `partial`, update) the tenant's overrides; record who changed which field from
    what to what. Raises ValidationError naming the offending fields; saves nothing then."""
    if not isinstance(settings, dict):
        raise _validation_error({"settings": ["must be an object"]})
    with transaction.atomic():
        profile = StratificationProfile.objects.select_for_update().get(pk=profile_get(distributor=distributor).pk)
        overrides = {**profile.settings, **settings} if partial else dict(settings)
        errors = validate_settings(overrides)
        if errors:
            raise _validation_error(errors)
        before = ModelSettings().with_overrides(profile.settings).to_dict()
        after_settings = ModelSettings().with_overrides(overrides)
        after = after_settings.to_dict()
        # Stored normalised (money as strings, weights as floats), only the keys that were given.
        profile.settings = {key: after[key] for key in overrides}
        profile.save(update_fields=["settings", "updated_at"])
        changes = {key: [before[key], after[key]] for key in after if before.get(key) != after[key]}
        if changes:
            SettingsChange.objects.create(
                distributor=distributor,
                changed_by=actor if getattr(actor, "is_authenticated", False) else None,
                changes=changes,
                settings_after=after,
            )
    return profile


def schedule_update(*, distributor, schedule: str) -> StratificationProfile:
    if schedule not in StratificationProfile.Schedule.values:
        raise _validation_error({"schedule": [f"must be one of {', '.join(StratificationProfile.Schedule.values)}"]})
    profile = profile_get(distributor=distributor)
    profile.schedule = schedule
    profile.save(update_fields=["schedule", "updated_at"])
    return profile


# --- requesting runs ------------------------------------------------------------------------------


def run_request(
    *,
    distributor,
    actor=None,
    overrides: dict | None = None,
    as_of: date | None = None,
    publish: bool = False,
    dispatch: bool = True,
) -> StratificationRun:
    """Create a queued run with the exact, complete settings it will use, and its job. With
    `dispatch`, a worker picks it up once the transaction commits; otherwise call `job_execute`."""
    model_settings = settings_resolve(distributor=distributor, overrides=overrides)
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        run = StratificationRun.objects.create(
            distributor=distributor,
            settings=model_settings.to_dict(),
            as_of=as_of,
            publish_requested=bool(publish),
            created_by=user,
        )
        job = job_enqueue(
            distributor=distributor, kind=JOB_KIND, params={"run_id": run.pk}, actor=user, dispatch=dispatch
        )
        run.job = job
        run.save(update_fields=["job"])
    return run


def restratify_after_import(*, distributor, actor=None) -> StratificationRun | None:
    """For the import code, when the manager asked for it (`restratify=true`): enqueue a published run
    once the import's transaction commits. None when the tenant has no invoice lines to rank."""
    if not agg.has_lines(distributor=distributor):
        return None
    return run_request(distributor=distributor, actor=actor, publish=True)


def runs_reconcile(*, distributor) -> int:
    """Mark failed the runs whose job failed without them knowing (e.g. the sweep gave up on a worker
    that was killed each time). Returns how many were fixed."""
    stale = StratificationRun.objects.filter(
        distributor=distributor, status__in=[Status.QUEUED, Status.RUNNING], job__status=Job.Status.FAILED
    ).select_related("job")
    fixed = 0
    for run in stale:
        fixed += StratificationRun.objects.filter(pk=run.pk, status__in=[Status.QUEUED, Status.RUNNING]).update(
            status=Status.FAILED, message=run.job.message or "The run's job failed.", finished_at=timezone.now()
        )
    return fixed


# --- executing a run ------------------------------------------------------------------------------


def _start(run: StratificationRun) -> None:
    """Take the tenant for this run, or defer: another run of the tenant whose job is running holds it.
    The profile row lock serialises two runs starting at the same moment."""
    with transaction.atomic():
        profile = profile_get(distributor=run.distributor)
        StratificationProfile.objects.select_for_update().filter(pk=profile.pk).first()
        busy = (
            StratificationRun.objects.filter(
                distributor=run.distributor, status=Status.RUNNING, job__status=Job.Status.RUNNING
            )
            .exclude(pk=run.pk)
            .first()
        )
        if busy is not None:
            raise JobDeferred(f"Waiting for run #{busy.pk} of this distributor to finish.", countdown=5.0)
        StratificationRun.objects.filter(pk=run.pk).update(
            status=Status.RUNNING, started_at=timezone.now(), message="", finished_at=None
        )


# What a run keeps per customer: the ranked figures (also the columns of `export_scores`), then the
# percentiles and the explanation.
RANKED_FIELDS = ("segment", "previous_segment", "value_score", "profit_score", "value_rank", "profit_rank", *FACTORS)
SCORE_FIELDS = (*RANKED_FIELDS, "percentiles", "explanation")
SCORE_FLOAT_FIELDS = RANKED_FIELDS[2:]


def _money_str(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


PERCENTILE_COLUMNS = tuple(f"p_{f}" for f in FACTORS)
# JSON is written by pandas' C encoder (several times faster than json.dumps), to 15 decimals: far
# below the 1e-9 reproduction tolerance.
JSON_DECIMALS = 15


def _json_number_records(frame: pd.DataFrame) -> list[str]:
    """One JSON object ({column: number}) per row of a frame of numbers."""
    if frame.empty:
        return []
    text = frame.to_json(orient="records", double_precision=JSON_DECIMALS)
    # '[{...},{...}]' of flat objects of numbers: "},{" only ever separates two records. (Splitting
    # one array is several times faster than pandas' JSON-lines output.)
    return ["{" + record + "}" for record in text[2:-2].split("},{")]


def _json_values(values: list) -> list[str]:
    """The JSON text of each value (dicts and lists of strings, numbers and None)."""
    return [ujson_dumps(value, double_precision=JSON_DECIMALS) for value in values]


def _score_rows(run, result, keys: dict[str, int], previous: dict[int, str]) -> pd.DataFrame:
    """One row per customer (active, then lapsed) with the CustomerScore columns, vectorised. The
    percentiles stay the engine's `p_<factor>` columns and the explanation its dicts (lapsed: NaN and
    {}): the writers encode them chunk by chunk (see `_score_chunks`)."""
    scores = result.scores
    frame = pd.DataFrame({"customer_id": scores["customer_id"].astype(str)})
    frame["segment"] = scores["segment"].astype(str)
    for column in (*SCORE_FLOAT_FIELDS, *PERCENTILE_COLUMNS):
        frame[column] = scores[column].astype("float64")
    frame["explanation"] = scores["explanation"].astype(object)
    if result.lapsed:
        lapsed = pd.DataFrame({"customer_id": [str(c) for c in result.lapsed], "segment": LAPSED})
        lapsed["explanation"] = [{} for _ in result.lapsed]
        frame = pd.concat([frame, lapsed], ignore_index=True)
    frame["customer_pk"] = frame["customer_id"].map(keys)
    if frame["customer_pk"].isna().any():  # a customer deleted while the run computed
        frame = frame[frame["customer_pk"].notna()]
    frame["customer_pk"] = frame["customer_pk"].astype("int64")
    frame["previous_segment"] = frame["customer_pk"].map(previous).astype(object).fillna("")
    return frame


def _nullable(values: np.ndarray) -> list:
    """Python floats, with None (SQL NULL) for NaN."""
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist()


def _score_chunks(frame: pd.DataFrame) -> Iterator[dict[str, list]]:
    """The CustomerScore columns of `frame` (customer_id, then SCORE_FIELDS), WRITE_CHUNK rows at a
    time: Python values, None for a missing number, JSON text for the percentiles and explanation
    ({} for a lapsed customer). Encoding chunk by chunk bounds memory and, on PostgreSQL, lets the
    server parse one chunk's JSON while the next is encoded."""
    for start in range(0, len(frame), WRITE_CHUNK):
        chunk = frame.iloc[start : start + WRITE_CHUNK]
        columns = {
            "customer_id": chunk["customer_pk"].tolist(),
            "segment": chunk["segment"].tolist(),
            "previous_segment": chunk["previous_segment"].tolist(),
        }
        for field in SCORE_FLOAT_FIELDS:
            columns[field] = _nullable(chunk[field].to_numpy(dtype="float64"))
        ranked = (chunk["segment"] != LAPSED).to_numpy()
        percentiles = np.full(len(chunk), "{}", dtype=object)
        percentiles[ranked] = _json_number_records(
            chunk.loc[ranked, list(PERCENTILE_COLUMNS)].set_axis(list(FACTORS), axis=1)
        )
        columns["percentiles"] = percentiles.tolist()
        columns["explanation"] = _json_values(chunk["explanation"].tolist())
        yield columns


class _JsonTextBinaryDumper(Dumper):
    """Already-encoded JSON text into a jsonb column of a binary COPY (jsonb's binary format is a
    version byte, then the text)."""

    format = pq.Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode()


def _copy_scores(run, frame: pd.DataFrame) -> None:
    """PostgreSQL: binary COPY, so that floats travel as 8 bytes instead of being formatted as text
    (formatting ~20 float columns was most of the write). A writer thread sends the data, so this
    thread keeps encoding while the server parses the jsonb it has received (its larger cost)."""
    fields = ("customer_id", *SCORE_FIELDS)
    types = ["int8", "int8", "int8", "text", "text", *["float8"] * len(SCORE_FLOAT_FIELDS), "jsonb", "jsonb"]
    sql = (
        f"COPY {CustomerScore._meta.db_table} (distributor_id, run_id, {', '.join(fields)}) FROM STDIN (FORMAT binary)"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.adapters.register_dumper(None, _JsonTextBinaryDumper)  # this cursor only; used by set_types
        with raw.copy(sql, writer=QueuedLibpqWriter(raw)) as copy:
            copy.set_types(types)
            for columns in _score_chunks(frame):
                size = len(columns["customer_id"])
                tenant, run_ids = [run.distributor_id] * size, [run.pk] * size
                for row in zip(tenant, run_ids, *(columns[field] for field in fields), strict=True):
                    copy.write_row(row)


def _write_scores(run, frame: pd.DataFrame) -> None:
    """Insert the rows under the run: PostgreSQL COPY, otherwise bulk_create in batches."""
    CustomerScore.objects.filter(distributor=run.distributor, run=run).delete()  # a re-executed run
    if connection.vendor == "postgresql":
        _copy_scores(run, frame)
        return
    for columns in _score_chunks(frame):
        columns["percentiles"] = [json.loads(text) for text in columns["percentiles"]]
        columns["explanation"] = [json.loads(text) for text in columns["explanation"]]
        objects = [
            CustomerScore(distributor_id=run.distributor_id, run_id=run.pk, **dict(zip(columns, row, strict=True)))
            for row in zip(*columns.values(), strict=True)
        ]
        CustomerScore.objects.bulk_create(objects, batch_size=2000)


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
        return {"run_id": run.pk, "status": run.status}
    _start(run)
    try:
        return _compute(run, progress)
    except JobDeferred:
        raise
    except Exception as error:
        message = str(error) if isinstance(error, JobFailed) else f"Internal error ({type(error).__name__}): {error}"
        StratificationRun.objects.filter(pk=run.pk).update(
            status=Status.FAILED, message=message[:5000], finished_at=timezone.now()
        )
        raise


def _compute(run: StratificationRun, progress) -> dict:
    distributor = run.distributor
    timings: dict[str, float] = {}
    started = time.perf_counter()
    model_settings = ModelSettings.from_dict(run.settings)

    progress(2, "Reading invoice lines")
    if not agg.has_lines(distributor=distributor):
        raise JobFailed("This distributor has no invoice lines yet: import invoice lines, then run again.")
    as_of = run.as_of or agg.latest_invoice_date(distributor=distributor)
    tick = time.perf_counter()
    aggregates, deliveries = agg.customer_aggregates(
        distributor=distributor, as_of=as_of, window_days=model_settings.window_days
    )
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
    frame = _score_rows(run, result, agg.customer_keys(distributor=distributor), previous)
    totals = _totals(result)
    with transaction.atomic():
        _write_scores(run, frame)
        StratificationRun.objects.filter(pk=run.pk).update(
            as_of=as_of, compared_to_id=published, totals=totals, timings=timings
        )
    timings["write_seconds"] = round(time.perf_counter() - tick, 3)

    progress(95, "Publishing" if run.publish_requested else "Finishing")
    run.refresh_from_db()
    with transaction.atomic():
        timings["total_seconds"] = round(time.perf_counter() - started, 3)
        StratificationRun.objects.filter(pk=run.pk).update(
            status=Status.SUCCEEDED, finished_at=timezone.now(), timings=timings, message=""
        )
        run.refresh_from_db()
        if run.publish_requested:
            _publish(run)
    counts = {segment: totals[segment]["count"] for segment in (*SEGMENTS, LAPSED)}
    summary = ", ".join(f"{segment} {count}" for segment, count in counts.items())
    progress(99, f"Run #{run.pk}: {summary}" + (" (published)" if run.publish_requested else ""))
    return {"run_id": run.pk, "as_of": as_of.isoformat(), "counts": counts, "published": run.publish_requested}


# --- publishing and comparing ---------------------------------------------------------------------


def _publish(run: StratificationRun) -> None:
    """Inside a transaction: make `run` the published one (the previous one is kept as previous_run)."""
    profile = StratificationProfile.objects.select_for_update().get(pk=profile_get(distributor=run.distributor).pk)
    locked = StratificationRun.objects.select_for_update().get(pk=run.pk)
    if locked.published_at is not None:
        raise RunError("This run is already published.")
    if locked.status != Status.SUCCEEDED:
        raise RunError(f"Only a succeeded run can be published (this one is {locked.status}).")
    if profile.current_run_id != locked.compared_to_id:
        # Another run was published since this one was computed: migrations are relative to it now.
        published_segment = CustomerScore.objects.filter(
            distributor=run.distributor, run_id=profile.current_run_id, customer_id=OuterRef("customer_id")
        ).values("segment")[:1]
        CustomerScore.objects.filter(distributor=run.distributor, run=locked).update(
            previous_segment=Coalesce(Subquery(published_segment), Value(""))
        )
        locked.compared_to_id = profile.current_run_id
    now = timezone.now()
    StratificationRun.objects.filter(pk=locked.pk).update(published_at=now, compared_to_id=locked.compared_to_id)
    profile.previous_run_id = profile.current_run_id
    profile.current_run_id = locked.pk
    profile.save(update_fields=["previous_run", "current_run", "updated_at"])
    run.published_at, run.compared_to_id = now, locked.compared_to_id


def run_publish(run: StratificationRun) -> StratificationRun:
    """Publish a succeeded, unpublished run (RunError otherwise: a run is published at most once)."""
    with transaction.atomic():
        _publish(run)
    run.refresh_from_db()
    return run


def run_compare(run: StratificationRun, other: StratificationRun | None = None) -> dict:
    """Who moves where between `other` (default: the published run) and `run`: the migration matrix
    (from other's segment to run's segment, "" when a customer is absent from one run) and the list of
    customers whose segment differs."""
    if other is None:
        profile = profile_get(distributor=run.distributor)
        other = profile.current_run
    distributor = run.distributor
    mine = pd.DataFrame.from_records(
        CustomerScore.objects.filter(distributor=distributor, run=run).values_list(
            "customer_id", "customer__customer_id", "customer__name", "segment"
        ),
        columns=["pk", "customer_id", "name", "to"],
    )
    theirs = pd.DataFrame.from_records(
        CustomerScore.objects.filter(distributor=distributor, run=other).values_list(
            "customer_id", "customer__customer_id", "customer__name", "segment"
        )
        if other is not None
        else [],
        columns=["pk", "customer_id", "name", "from"],
    )
    both = mine.merge(theirs, on="pk", how="outer", suffixes=("", "_other"))
    both["customer_id"] = both["customer_id"].fillna(both["customer_id_other"])
    both["name"] = both["name"].fillna(both["name_other"])
    both["from"] = both["from"].fillna("")
    both["to"] = both["to"].fillna("")
    labels = [*SEGMENTS, LAPSED, ""]
    matrix = {a: dict.fromkeys(labels, 0) for a in labels}
    for (a, b), count in both.groupby(["from", "to"]).size().items():
        matrix[a][b] = int(count)
    moved = both[both["from"] != both["to"]].sort_values("customer_id")
    return {
        "run": run.pk,
        "other": other.pk if other is not None else None,
        "matrix": matrix,
        "moved_count": len(moved),
        "moves": [
            {"customer_id": c, "name": n or "", "from": a, "to": b}
            for c, n, a, b in moved[["customer_id", "name", "from", "to"]].itertuples(index=False)
        ],
    }


# --- schedule ------------------------------------------------------------------------------------


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
    from django_scopes import scope, scopes_disabled

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
