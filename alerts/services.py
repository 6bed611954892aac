"""Writing alerts: raising them for a published run (INSIGHTS.md's life cycle), changing their
status, and the tenant's alert settings.

Life cycle (INSIGHTS.md "Life of an alert", and this project's choices where it is silent):
* the same (kind, subject) raised by a later published run is the same alert: open or acknowledged,
  it stays so, with the new run as `last_run` and the new figures;
* a dismissed alert stays dismissed (quiet) while every figure it had when dismissed stays within
  `dismiss_tolerance` (10%) of that value; once one moves further, it is raised again (open);
* a done alert that a later run raises again is open again (the situation persists);
* an open or acknowledged alert that a later run no longer raises is closed as done by the job
  ("no longer raised by run #n");
* each change is an `AlertStatusChange` (who — nobody for the job —, when, note);
* raising is idempotent per run (`AlertRaise`), and a run older than one already raised is skipped.

Status changes by people: open -> acknowledged | done | dismissed; acknowledged -> done | dismissed;
done or dismissed -> open only by a manager. A dismissal needs a note."""

from __future__ import annotations

import json
import time
from decimal import Decimal, InvalidOperation
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from segments.models import StratificationRun
from stratify.cache import ALERTS, tenant_cache_bump
from stratify.db import is_postgres
from stratify.jobs.services import job_fence
from stratify.tenancy.permissions import Role

from . import rules
from .inputs import read_rule_input
from .models import (
    DISTRIBUTOR_KINDS,
    KINDS,
    RISK_KINDS,
    SETTING_FIELDS,
    Alert,
    AlertRaise,
    AlertSettings,
    AlertStatusChange,
    DigestSubscription,
    Status,
)

ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED)


class AlertError(Exception):
    """A request the life cycle or the settings forbid; `field` names what is wrong (API: 400)."""

    def __init__(self, message: str, field: str = "status"):
        super().__init__(message)
        self.field = field


# --- settings -----------------------------------------------------------------------------------------

SHARE_WORDS = "a share strictly between 0 and 1"
LIMITS = {
    "days": (1, 3650, "a whole number of days from 1 to 3650"),
    "count": (1, 1000, "a whole number from 1 to 1000"),
    "share": (0, 1, SHARE_WORDS),
    "factor": (0, 100, "a number greater than 0 and at most 100"),
    "points": (0, 100, "a number of points greater than 0 and at most 100"),
}


def settings_validate(data: dict) -> tuple[dict, dict[str, list[str]]]:
    """(clean values, errors by field) for a partial dict of alert settings. Unknown fields are errors."""
    known = {name: kind for name, _, kind, _ in SETTING_FIELDS}
    clean, errors = {}, {}
    for name, raw in data.items():
        if name not in known:
            errors[name] = [f"Unknown setting; the settings are: {', '.join(known)}."]
            continue
        kind = known[name]
        low, high, words = LIMITS[kind]
        try:
            if isinstance(raw, bool):
                raise InvalidOperation
            value = Decimal(str(raw).strip())
            if not value.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors[name] = [f"Must be {words}."]
            continue
        if kind in ("days", "count"):
            if value != value.to_integral_value() or not (low <= value <= high):
                errors[name] = [f"Must be {words}."]
                continue
            clean[name] = int(value)
        else:
            ok = (0 < value < 1) if kind == "share" else (0 < value <= high)
            if not ok:
                errors[name] = [f"Must be {words}."]
                continue
            if value != value.quantize(Decimal("0.0001")):
                errors[name] = ["At most 4 decimals."]
                continue
            clean[name] = value
    return clean, errors


def settings_update(*, distributor, data: dict, actor=None) -> AlertSettings:
    """Change some alert settings (AlertError naming the first bad field; nothing changes then)."""
    clean, errors = settings_validate(data)
    if errors:
        field = next(iter(errors))
        error = AlertError(f"{field}: {errors[field][0]}", field=field)
        error.errors = errors
        raise error
    with transaction.atomic():
        row, _ = AlertSettings.objects.get_or_create(distributor=distributor)
        row = AlertSettings.objects.select_for_update().get(pk=row.pk)
        for name, value in clean.items():
            setattr(row, name, value)
        row.updated_by = actor if getattr(actor, "is_authenticated", False) else None
        row.save()
    return row


def digest_subscribe(*, distributor, user, weekly_digest: bool) -> DigestSubscription:
    row, _ = DigestSubscription.objects.update_or_create(
        distributor=distributor, user=user, defaults={"weekly_digest": bool(weekly_digest)}
    )
    return row


# --- raising ----------------------------------------------------------------------------------------------


def alert_key(candidate: dict) -> str:
    customer = candidate.get("customer")
    return f"{'' if customer is None else int(customer)}|{candidate['subject_type']}|{candidate['subject']}"


def severity_of(kind: str, candidate: dict, segment: str) -> str:
    """High: distributor-wide kinds and risks on (former) core customers; medium: other risks; low:
    opportunities."""
    if kind in DISTRIBUTOR_KINDS:
        return "high"
    if kind in RISK_KINDS:
        figures = candidate.get("figures", {})
        was_core = "core" in (segment, figures.get("from_segment"), figures.get("previous_segment"))
        return "high" if was_core else "medium"
    return "low"


def _numbers(figures: dict) -> dict[str, Decimal]:
    out = {}
    for key, value in (figures or {}).items():
        if isinstance(value, (bool, list, dict)) or value is None:
            continue
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            continue
        if number.is_finite():
            out[key] = number
    return out


def within_tolerance(dismissed: dict, now: dict, tolerance: Decimal) -> bool:
    """Whether every figure of `dismissed` (amount included) is still within `tolerance` of its value."""
    before, after = _numbers(dismissed), _numbers(now)
    for key, old in before.items():
        if key not in after:
            continue
        if abs(after[key] - old) > abs(old) * tolerance:
            return False
    return True


def _figures_with_amount(candidate: dict) -> dict:
    return {**candidate["figures"], "amount": str(candidate["amount"])}


def run_for_alerts(*, distributor, number: int | None = None) -> StratificationRun:
    """The published run numbered `number` (None: the current published run); AlertError otherwise."""
    from segments.selectors import published_runs

    if number is None:
        run, _ = published_runs(distributor=distributor)
        if run is None:
            raise AlertError("No published run yet: alerts are raised for published runs.", field="run")
        return run
    run = StratificationRun.objects.filter(distributor=distributor, number=number).first()
    if run is None:
        raise AlertError(f"No run #{number}.", field="run")
    if run.published_at is None:
        raise AlertError(f"Run #{number} is not published: alerts are raised for published runs.", field="run")
    return run


def alerts_compute(*, distributor, run, settings: dict, progress=None) -> dict[str, list[dict]]:
    """The candidates of every rule for `run` (no writes)."""
    data = read_rule_input(distributor=distributor, run=run, settings=settings)
    out = {}
    for i, kind in enumerate(KINDS):
        if progress:
            progress(20 + int(60 * i / len(KINDS)), f"Rule {kind}")
        out[kind] = rules.RULES[kind](data, settings)
    out["_segments"] = dict(zip(data.scores["customer"], data.scores["segment"], strict=True))
    out["_reps"] = {
        int(c): (None if r is None or r != r else int(r))
        for c, r in zip(data.scores["customer"], data.scores["rep"], strict=True)
    }
    return out


def alerts_raise(*, distributor, run, job=None, progress=None) -> dict:
    """Raise the alerts of published `run` (idempotent per run). Returns counts per kind and what
    happened to existing alerts."""
    started = time.perf_counter()
    done = AlertRaise.objects.filter(distributor=distributor, run=run).first()
    if done is not None:
        return {"run": run.number, "counts": done.counts, "already": True}
    newer = AlertRaise.objects.filter(distributor=distributor, run__published_at__gt=run.published_at).exists()
    if newer:
        return {"run": run.number, "counts": {}, "skipped": "a later published run already raised its alerts"}
    settings_row = AlertSettings.objects.filter(distributor=distributor).first() or AlertSettings()
    settings = settings_row.as_dict()
    if progress:
        progress(5, f"Reading run #{run.number}")
    found = alerts_compute(distributor=distributor, run=run, settings=settings, progress=progress)
    computed = time.perf_counter()
    segments, reps = found.pop("_segments"), found.pop("_reps")
    candidates = {}
    for kind in KINDS:
        for candidate in found[kind]:
            candidates[(kind, alert_key(candidate))] = candidate
    counts = {kind: len(found[kind]) for kind in KINDS}
    if progress:
        progress(85, "Writing alerts")
    tolerance = Decimal(str(settings["dismiss_tolerance"]))
    now = timezone.now()
    outcome = {"new": 0, "kept": 0, "reopened": 0, "quiet": 0, "cleared": 0}
    with transaction.atomic():
        AlertSettings.objects.get_or_create(distributor=distributor)
        AlertSettings.objects.select_for_update().get(distributor=distributor)  # one raise at a time per tenant
        if AlertRaise.objects.filter(distributor=distributor, run=run).exists():
            return {"run": run.number, "counts": counts, "already": True}
        # Every alert of the tenant, once (one per (kind, subject) ever raised), as plain values: model
        # instances cost more than the rules at a hundred thousand alerts.
        existing = {
            (row["kind"], row["key"]): row
            for row in Alert.objects.filter(distributor=distributor)
            .values("pk", "kind", "key", "status", "dismissed_figures", "last_run_id", "raised_run_id",
                    "status_changed_at", "status_changed_by_id")
            .iterator(chunk_size=5000)
        }  # fmt: skip
        creates, updates, changes, cleared = [], [], [], []

        def values(kind: str, candidate: dict) -> dict:
            customer = candidate.get("customer")
            segment = segments.get(customer, "") if customer is not None else ""
            return {
                "severity": severity_of(kind, candidate, segment),
                "amount": candidate["amount"],
                "figures": candidate["figures"],
                "message": candidate["message"],
                "segment": segment or "",
                "rep_id": reps.get(int(customer)) if customer is not None else None,
                "last_run_id": run.pk,
            }

        def change(row, to_status: str, note: str) -> None:
            changes.append(
                AlertStatusChange(
                    distributor=distributor, alert_id=row["pk"], from_status=row["status"], to_status=to_status,
                    note=note, run=run,
                )
            )  # fmt: skip

        for (kind, key), candidate in candidates.items():
            row = existing.get((kind, key))
            if row is None:
                customer = candidate.get("customer")
                creates.append(
                    {
                        "distributor_id": distributor.pk, "kind": kind, "key": key,
                        "customer_id": None if customer is None else int(customer),
                        "subject_type": candidate["subject_type"], "subject": str(candidate["subject"])[:255],
                        "created_at": now, **values(kind, candidate), "status": Status.OPEN,
                        "raised_run_id": run.pk, "dismissed_figures": {}, "status_changed_at": None,
                        "status_changed_by_id": None,
                    }
                )  # fmt: skip
                outcome["new"] += 1
                continue
            kept = {k: row[k] for k in ("status", "raised_run_id", "dismissed_figures", "status_changed_at",
                                         "status_changed_by_id")}  # fmt: skip
            if row["status"] in ACTIVE:
                updates.append({"pk": row["pk"], **values(kind, candidate), **kept})
                outcome["kept"] += 1
                continue
            if row["status"] == Status.DISMISSED and within_tolerance(
                row["dismissed_figures"], _figures_with_amount(candidate), tolerance
            ):
                outcome["quiet"] += 1
                continue
            if row["status"] == Status.DONE and row["last_run_id"] == run.pk:
                continue
            note = (
                f"Raised again by run #{run.number}: its figures moved more than {tolerance:.0%} since it "
                "was dismissed."
                if row["status"] == Status.DISMISSED
                else f"Raised again by run #{run.number}."
            )
            change(row, Status.OPEN, note)
            updates.append(
                {
                    "pk": row["pk"], **values(kind, candidate), "status": Status.OPEN, "raised_run_id": run.pk,
                    "dismissed_figures": {}, "status_changed_at": now, "status_changed_by_id": None,
                }
            )  # fmt: skip
            outcome["reopened"] += 1
        for (kind, key), row in existing.items():
            if (kind, key) in candidates or row["status"] not in ACTIVE:
                continue
            change(row, Status.DONE, f"Closed: run #{run.number} no longer raises it.")
            cleared.append(row["pk"])
        outcome["cleared"] = len(cleared)
        write_alerts(distributor=distributor, creates=creates, updates=updates)
        # What pages cached of the tenant's alerts is stale once this commits (alerts.selectors).
        transaction.on_commit(partial(tenant_cache_bump, distributor.pk, ALERTS))
        for start in range(0, len(cleared), 5000):
            Alert.objects.filter(distributor=distributor, pk__in=cleared[start : start + 5000]).update(
                status=Status.DONE, status_changed_at=now, status_changed_by=None
            )
        AlertStatusChange.objects.bulk_create(changes, batch_size=2000)
        AlertRaise.objects.create(
            distributor=distributor,
            run=run,
            counts=counts,
            settings={k: str(v) for k, v in settings.items()},
            seconds=round(time.perf_counter() - started, 3),
        )
        if job is not None:
            job_fence(job)
    timings = {
        "compute_seconds": round(computed - started, 3),
        "write_seconds": round(time.perf_counter() - computed, 3),
    }
    return {"run": run.number, "counts": counts, **outcome, "timings": timings}


UPDATED_FIELDS = (
    "severity", "amount", "figures", "message", "segment", "rep_id", "last_run_id", "status", "raised_run_id",
    "dismissed_figures", "status_changed_at", "status_changed_by_id",
)  # fmt: skip
CREATED_FIELDS = (
    "distributor_id", "kind", "key", "customer_id", "subject_type", "subject", "created_at", *UPDATED_FIELDS,
)  # fmt: skip
SQL_TYPES = {
    "amount": "numeric", "figures": "jsonb", "dismissed_figures": "jsonb", "rep_id": "bigint", "last_run_id": "bigint",
    "raised_run_id": "bigint", "status_changed_at": "timestamptz", "status_changed_by_id": "bigint",
}  # fmt: skip


def _row(row: dict, fields) -> tuple:
    return tuple(json.dumps(row[f], default=str) if f in ("figures", "dismissed_figures") else row[f] for f in fields)


def write_alerts(*, distributor, creates: list[dict], updates: list[dict]) -> None:
    """Insert the new alerts and update the changed ones (plain dicts of column values), inside the
    caller's transaction: COPY (and one UPDATE ... FROM a COPYed temporary table) on PostgreSQL, tens
    of thousands of rows at once; bulk_create / bulk_update elsewhere."""
    if not is_postgres():
        Alert.objects.bulk_create([Alert(**row) for row in creates], batch_size=2000)
        objects = [
            Alert(pk=row["pk"], distributor_id=distributor.pk, **{f: row[f] for f in UPDATED_FIELDS}) for row in updates
        ]
        Alert.objects.bulk_update(objects, [f.removesuffix("_id") for f in UPDATED_FIELDS], batch_size=2000)
        return
    table = Alert._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if creates:
            with raw.copy(f"COPY {table} ({', '.join(CREATED_FIELDS)}) FROM STDIN") as copy:
                for row in creates:
                    copy.write_row(_row(row, CREATED_FIELDS))
        if updates:
            columns = ", ".join(f"{f} {SQL_TYPES.get(f, 'text')}" for f in UPDATED_FIELDS)
            cursor.execute(f"CREATE TEMPORARY TABLE alert_update (id bigint, {columns}) ON COMMIT DROP")
            with raw.copy(f"COPY alert_update (id, {', '.join(UPDATED_FIELDS)}) FROM STDIN") as copy:
                for row in updates:
                    copy.write_row((row["pk"], *_row(row, UPDATED_FIELDS)))
            assignments = ", ".join(f"{f} = u.{f}" for f in UPDATED_FIELDS)
            cursor.execute(
                f"UPDATE {table} a SET {assignments} FROM alert_update u WHERE a.id = u.id AND a.distributor_id = %s",
                [distributor.pk],
            )
            cursor.execute("DROP TABLE alert_update")


# --- status changes ---------------------------------------------------------------------------------------

TRANSITIONS = {
    Status.OPEN: {Status.ACKNOWLEDGED, Status.DONE, Status.DISMISSED},
    Status.ACKNOWLEDGED: {Status.DONE, Status.DISMISSED},
    Status.DONE: {Status.OPEN},
    Status.DISMISSED: {Status.OPEN},
}
SETTABLE = ("open", "acknowledged", "done", "dismissed")


def alert_set_status(*, alert: Alert, status: str, note: str = "", actor=None, membership=None) -> Alert:
    """Move `alert` to `status` as the life cycle allows (AlertError saying why otherwise)."""
    note = (note or "").strip()
    if status not in SETTABLE:
        raise AlertError(f"Unknown status {status!r}; allowed: acknowledged, done, dismissed (managers: open).")
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(distributor_id=alert.distributor_id, pk=alert.pk)
        current = locked.status
        if status == current:
            raise AlertError(f"The alert is already {current}.")
        if status not in TRANSITIONS[current]:
            raise AlertError(f"An alert that is {current} cannot become {status}.")
        if status == Status.OPEN and (membership is None or membership.role != Role.MANAGER):
            raise AlertError(f"Only a manager can reopen an alert that is {current}.")
        if status == Status.DISMISSED and not note:
            raise AlertError("A dismissal needs a note saying why.", field="note")
        now = timezone.now()
        user = actor if getattr(actor, "is_authenticated", False) else None
        locked.status, locked.status_changed_at, locked.status_changed_by = status, now, user
        if status == Status.DISMISSED:
            locked.dismissed_figures = {**locked.figures, "amount": str(locked.amount)}
        locked.save(update_fields=["status", "status_changed_at", "status_changed_by", "dismissed_figures"])
        AlertStatusChange.objects.create(
            distributor_id=locked.distributor_id,
            alert=locked,
            from_status=current,
            to_status=status,
            note=note[:2000],
            changed_by=user,
        )
        transaction.on_commit(partial(tenant_cache_bump, locked.distributor_id, ALERTS))
    return locked
