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

import hashlib
import json
import re
import time
from decimal import Decimal, InvalidOperation
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from segments.models import StratificationRun
from stratify.cache import ALERTS, tenant_cache_bump
from stratify.db import insert_objects, is_postgres
from stratify.jobs.services import job_fence
from stratify.tenancy.permissions import Role

from . import rules
from .inputs import read_rule_input
from .models import (
    ACTIVE,
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


def content_digest(severity: str, amount, figures_json: str, message: str, segment: str, rep_id) -> str:
    """The fingerprint of what a run says about an alert (`Alert.digest`): equal digests, nothing to
    rewrite."""
    text = "\x1f".join((severity, str(amount), figures_json, message, segment, "" if rep_id is None else str(rep_id)))
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def alerts_raise(*, distributor, run, job=None, progress=None) -> dict:
    """Raise the alerts of published `run` (idempotent per run). Returns counts per kind and what
    happened to existing alerts.

    Only what changes is written: new alerts (COPY), alerts whose content (the digest of severity,
    amount, figures, sentence, segment, rep) changed or whose status the life cycle moves, and the
    status history; an alert the run confirms unchanged gets only its `last_run`, by one set-based
    UPDATE."""
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
    outcome = {"new": 0, "kept": 0, "reopened": 0, "quiet": 0, "cleared": 0, "unchanged": 0}
    with transaction.atomic():
        AlertSettings.objects.get_or_create(distributor=distributor)
        AlertSettings.objects.select_for_update().get(distributor=distributor)  # one raise at a time per tenant
        if AlertRaise.objects.filter(distributor=distributor, run=run).exists():
            return {"run": run.number, "counts": counts, "already": True}
        # Every alert of the tenant, once (one per (kind, subject) ever raised): pk, status, last run
        # and digest only; what a dismissed one had when dismissed is read for those alone.
        existing = read_existing(distributor=distributor)
        steps = {"read_existing_seconds": time.perf_counter()}
        dismissed = dict(
            Alert.objects.filter(distributor=distributor, status=Status.DISMISSED).values_list(
                "pk", "dismissed_figures"
            )
        )
        creates, updates, reopened, changes, cleared = [], [], [], [], []
        run_pk = run.pk

        def change(pk: int, from_status: str, to_status: str, note: str) -> None:
            changes.append(
                AlertStatusChange(
                    distributor=distributor, alert_id=pk, from_status=from_status, to_status=to_status, note=note,
                    run=run, changed_at=now,
                )
            )  # fmt: skip

        for (kind, key), candidate in candidates.items():
            customer = candidate.get("customer")
            customer = None if customer is None else int(customer)
            segment = (segments.get(customer, "") or "") if customer is not None else ""
            severity = severity_of(kind, candidate, segment)
            rep_id = reps.get(customer) if customer is not None else None
            row = existing.get((kind, key))
            if row is not None:
                pk, status, last_run_id, digest = row
                if status == Status.DISMISSED and within_tolerance(
                    dismissed.get(pk) or {}, _figures_with_amount(candidate), tolerance
                ):
                    outcome["quiet"] += 1
                    continue
                if status == Status.DONE and last_run_id == run_pk:
                    continue
            figures_json = json.dumps(candidate["figures"], default=str)
            content = (severity, candidate["amount"], figures_json, candidate["message"], segment, rep_id)
            new_digest = content_digest(*content)
            if row is None:
                creates.append((kind, key, customer, candidate["subject_type"], str(candidate["subject"])[:255],
                                *content, new_digest))  # fmt: skip
                outcome["new"] += 1
                continue
            if status in ACTIVE:
                outcome["kept"] += 1
                if digest == new_digest:
                    outcome["unchanged"] += 1  # confirmed: only its last_run moves (below)
                else:
                    updates.append((pk, *content, new_digest))
                continue
            note = (
                f"Raised again by run #{run.number}: its figures moved more than {tolerance:.0%} since it "
                "was dismissed."
                if status == Status.DISMISSED
                else f"Raised again by run #{run.number}."
            )
            change(pk, status, Status.OPEN, note)
            updates.append((pk, *content, new_digest))
            reopened.append(pk)
            outcome["reopened"] += 1
        for (kind, key), (pk, status, _, _) in existing.items():
            if status in ACTIVE and (kind, key) not in candidates:
                change(pk, status, Status.DONE, f"Closed: run #{run.number} no longer raises it.")
                cleared.append(pk)
        outcome["cleared"] = len(cleared)
        steps["compare_seconds"] = time.perf_counter()
        write_alerts(distributor=distributor, run=run, now=now, creates=creates, updates=updates)
        # What pages cached of the tenant's alerts is stale once this commits (alerts.selectors).
        transaction.on_commit(partial(tenant_cache_bump, distributor.pk, ALERTS))
        steps["copy_seconds"] = time.perf_counter()
        alerts = Alert.objects.filter(distributor=distributor)
        for start in range(0, len(reopened), 5000):
            alerts.filter(pk__in=reopened[start : start + 5000]).update(
                status=Status.OPEN, raised_run=run, dismissed_figures={}, status_changed_at=now,
                status_changed_by=None,
            )  # fmt: skip
        for start in range(0, len(cleared), 5000):
            alerts.filter(pk__in=cleared[start : start + 5000]).update(
                status=Status.DONE, status_changed_at=now, status_changed_by=None
            )
        # Every alert still open or acknowledged now is one this run raised: those not rewritten above
        # are confirmed unchanged, and only their last run moves (one statement, no row shipped).
        if outcome["unchanged"]:
            alerts.filter(status__in=ACTIVE).exclude(last_run=run).update(last_run=run)
        steps["confirm_seconds"] = time.perf_counter()
        insert_objects(AlertStatusChange, changes)
        AlertRaise.objects.create(
            distributor=distributor,
            run=run,
            counts=counts,
            settings={k: str(v) for k, v in settings.items()},
            seconds=round(time.perf_counter() - started, 3),
        )
        if job is not None:
            job_fence(job)
    steps["history_and_commit_seconds"] = time.perf_counter()
    timings = {
        "compute_seconds": round(computed - started, 3),
        "write_seconds": round(time.perf_counter() - computed, 3),
        # the write's steps: reading the tenant's alerts, comparing, COPY, confirming, history + commit
        **{
            name: round(at - before, 3)
            for (name, at), before in zip(steps.items(), [computed, *steps.values()][:-1], strict=True)
        },
    }
    return {"run": run.number, "counts": counts, **outcome, "timings": timings}


def read_existing(*, distributor) -> dict[tuple[str, str], tuple[int, str, int, str]]:
    """(kind, key) -> (pk, status, last_run_id, digest) of every alert of the tenant. PostgreSQL: one
    string built by the database, split by str methods (a hundred thousand alerts in a fraction of a
    second)."""
    if not is_postgres():
        rows = Alert.objects.filter(distributor=distributor).values_list(
            "kind", "key", "pk", "status", "last_run_id", "digest"
        )
        return {(kind, key): (pk, status, last_run_id, digest) for kind, key, pk, status, last_run_id, digest in rows}
    # One row holding every alert as a line of tab-separated fields, the key escaped as COPY would (one
    # statement and one string to split: a COPY or a fetch hands over one message or row per alert).
    key = r"replace(replace(replace(key, E'\\', E'\\\\'), E'\n', E'\\n'), E'\t', E'\\t')"
    line = rf"kind || E'\t' || {key} || E'\t' || id || E'\t' || status || E'\t' || last_run_id || E'\t' || digest"
    with connection.cursor() as cursor:
        cursor.execute(
            rf"SELECT string_agg({line}, E'\n') FROM {Alert._meta.db_table} WHERE distributor_id = %s",
            [distributor.pk],
        )
        text = cursor.fetchone()[0] or ""
    out = {}
    for row in text.split("\n"):
        if not row:
            continue
        kind, key, pk, status, last_run_id, digest = row.split("\t")
        if "\\" in key:
            key = _unescape(key)
        out[(kind, key)] = (int(pk), status, int(last_run_id), digest)
    return out


_COPY_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v"}
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _unescape(value: str) -> str:
    """A text-format COPY field as the value it stands for."""
    return _ESCAPED.sub(lambda m: _COPY_ESCAPES.get(m.group(1), m.group(1)), value)


def _escape(value: str) -> str:
    """`value` as a text-format COPY field."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


CONTENT_FIELDS = ("severity", "amount", "figures", "message", "segment", "rep_id", "digest")
CREATED_FIELDS = ("kind", "key", "customer_id", "subject_type", "subject", *CONTENT_FIELDS)


def _null(value) -> str:
    return "\\N" if value is None else str(value)


def _content(severity, amount, figures: str, message: str, segment: str, rep, digest: str) -> str:
    """The `CONTENT_FIELDS` of one alert as text-format COPY fields."""
    return f"{severity}\t{amount}\t{_escape(figures)}\t{_escape(message)}\t{segment}\t{_null(rep)}\t{digest}"


def _copy_in(raw_cursor, sql: str, lines, batch: int = 5000) -> None:
    """COPY text-format `lines` (each ending in a newline), handed over `batch` lines at a time."""
    with raw_cursor.copy(sql) as copy:
        pending = []
        for line in lines:
            pending.append(line)
            if len(pending) == batch:
                copy.write("".join(pending))
                pending.clear()
        if pending:
            copy.write("".join(pending))


def write_alerts(*, distributor, run, now, creates: list[tuple], updates: list[tuple]) -> None:
    """Insert the new alerts (`CREATED_FIELDS` tuples: open, raised and last confirmed by `run`) and
    rewrite the content of the changed ones (`(pk, *CONTENT_FIELDS)` tuples, last confirmed by `run`),
    inside the caller's transaction: COPY in text form built by plain string formatting (and one
    UPDATE ... FROM a COPYed temporary table) on PostgreSQL; bulk_create / bulk_update elsewhere."""
    if not is_postgres():

        def content(row) -> dict:
            values = dict(zip(CONTENT_FIELDS, row, strict=True))
            return {**values, "figures": json.loads(values["figures"])}

        Alert.objects.bulk_create(
            [
                Alert(
                    distributor=distributor, **dict(zip(CREATED_FIELDS[:5], row[:5], strict=True)), **content(row[5:]),
                    created_at=now, status=Status.OPEN, raised_run=run, last_run=run, dismissed_figures={},
                )
                for row in creates
            ],
            batch_size=2000,
        )  # fmt: skip
        objects = [Alert(pk=row[0], distributor=distributor, last_run=run, **content(row[1:])) for row in updates]
        fields = [f.removesuffix("_id") for f in CONTENT_FIELDS] + ["last_run"]
        Alert.objects.bulk_update(objects, fields, batch_size=2000)
        return
    table = Alert._meta.db_table
    e = _escape
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if creates:
            head = f"{int(distributor.pk)}\t"
            tail = f"\t{now.isoformat()}\t{run.pk}\t{Status.OPEN}\t{run.pk}\t{{}}\t\\N\t\\N\n"
            columns = ", ".join((*CREATED_FIELDS, "created_at", "last_run_id", "status", "raised_run_id",
                                 "dismissed_figures", "status_changed_at", "status_changed_by_id"))  # fmt: skip
            _copy_in(
                raw,
                f"COPY {table} (distributor_id, {columns}) FROM STDIN",
                (
                    f"{head}{kind}\t{e(key)}\t{_null(customer)}\t{subject_type}\t{e(subject)}\t{_content(*content)}{tail}"
                    for kind, key, customer, subject_type, subject, *content in creates
                ),
            )
        if updates:
            cursor.execute(
                "CREATE TEMPORARY TABLE alert_update (id bigint, severity text, amount numeric, figures jsonb, "
                "message text, segment text, rep_id bigint, digest text) ON COMMIT DROP"
            )
            _copy_in(
                raw,
                f"COPY alert_update (id, {', '.join(CONTENT_FIELDS)}) FROM STDIN",
                (f"{pk}\t{_content(*content)}\n" for pk, *content in updates),
            )
            assignments = ", ".join(f"{f} = u.{f}" for f in CONTENT_FIELDS)
            cursor.execute(
                f"UPDATE {table} a SET {assignments}, last_run_id = %s FROM alert_update u "
                "WHERE a.id = u.id AND a.distributor_id = %s",
                [run.pk, distributor.pk],
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
