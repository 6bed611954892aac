"""Import services: start an import job, run it, preview an upload, and the fast write path
(`load_frame`) that the demo-data generator shares with file imports.

    import_start(distributor=, actor=, kind=, path=, mapping=None, date_format=None, filename="", dispatch=True) -> Job
    import_run_now(job) -> Job                      # the finished job, run in this process
    import_cancel(distributor=, job_id=, actor=None) -> Job   # queued: failed at once; running: stops, writes nothing
    load_frame(distributor=, kind=, frame=, progress=None) -> dict   # typed canonical columns -> counts

A job's result on success: {"kind", "rows", "created": {entity: n}, "updated": {...}, "unchanged": {...},
"seconds", "mapping"}; on failure (status "failed", a summary in `message`): {"errors": [{row, column,
value, reason}, ... the first 1000], "error_count": N, "error_groups": [...]}, plus "error_file" (under
MEDIA_ROOT: every error, gzip CSV, for errors.csv) and "errors_left_out" when the errors outnumber 1000."""

import csv
import dataclasses
import gzip
import io
import json
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import get_valid_filename
from django_scopes import scope

from stratify.cache import tenant_cache_bump
from stratify.exports import escape_formula
from stratify.jobs.models import Job
from stratify.jobs.registry import RESTRATIFY_JOB_KIND
from stratify.jobs.services import job_cancel, job_enqueue, job_execute, job_fence, job_record_result

from . import formats
from .errors import ErrorFile, ErrorLog, ImportFailed, clip, error_files_root
from .formats import BOOL, CHOICE, DATE, DECIMAL, INT, KINDS, get_kind
from .loading import Stage, find_duplicates, find_unknown_references, merge
from .models import ColumnMapping
from .reading import check_size, inspect_file, iter_chunks, preview, read_headers
from .uploads import upload_dir, upload_discard, upload_folder_of
from .validation import (
    DATE_SAMPLE,
    ISO_FORMAT,
    add_derived,
    check_date_format,
    detect_date_format,
    parse_source,
    resolve_plan,
    validate_chunk,
)

JOB_KIND = "import"
# The kinds that name reps (customers files carry the rep's name) and partners (suppliers among them).
NAMING_KINDS = ("customers", "partners")


# --- starting and running --------------------------------------------------------------------------


def _clean_mapping(mapping) -> dict:
    if mapping in (None, ""):
        return {}
    if isinstance(mapping, str):
        try:
            mapping = json.loads(mapping)
        except json.JSONDecodeError as error:
            raise ValidationError({"mapping": f"The mapping is not valid JSON: {error}."})
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in mapping.items()
    ):
        raise ValidationError({"mapping": 'The mapping must be an object of column names, e.g. {"cost": "Ext Cost"}.'})
    return mapping


def import_check_params(*, kind: str, mapping=None, date_format: str | None = None) -> tuple[dict, str | None]:
    """(mapping as a dict, date format or None); ValidationError naming the bad field."""
    if kind not in KINDS:
        raise ValidationError({"kind": f"Unknown kind {kind!r}: expected one of {', '.join(KINDS)}."})
    mapping = _clean_mapping(mapping)
    unknown = [name for name in mapping if name not in KINDS[kind].names]
    if unknown:
        raise ValidationError(
            {"mapping": f"Not columns of {kind}: {', '.join(unknown)} (expected: {', '.join(KINDS[kind].names)})."}
        )
    # A multipart upload's fields reach here unchecked (stratify.tenancy.middleware.InputGuardMiddleware
    # reads no multipart body): PostgreSQL refuses a NUL in any text.
    texts = [*mapping, *(v for v in mapping.values() if v), date_format or ""]
    if any("\x00" in text for text in texts):
        field = "date_format" if "\x00" in (date_format or "") else "mapping"
        raise ValidationError({field: "It holds a NUL character."})
    date_format = (date_format or "").strip() or None
    if date_format:
        try:
            check_date_format(date_format)
        except ImportFailed as failure:
            raise ValidationError({"date_format": str(failure)}) from None
    return mapping, date_format


def import_start(
    *,
    distributor,
    actor,
    kind: str,
    path: str | Path,
    mapping: dict | None = None,
    date_format: str | None = None,
    filename: str = "",
    dispatch: bool = True,
    restratify: bool = False,
) -> Job:
    """Record an import job for the file at `path`; with `dispatch`, a worker runs it once the
    transaction commits. An explicit mapping or date format is remembered for the tenant and kind.
    With `restratify`, a successful import of invoice lines enqueues a published stratification run."""
    mapping, date_format = import_check_params(kind=kind, mapping=mapping, date_format=date_format)
    params = {
        "import_kind": kind,
        "path": str(path),
        "mapping": mapping,
        "date_format": date_format,
        "filename": filename or Path(path).name,
        "restratify": bool(restratify),
    }
    with scope(distributor=distributor):
        if mapping or date_format:
            ColumnMapping.objects.update_or_create(
                distributor=distributor, kind=kind, defaults={"mapping": mapping, "date_format": date_format or ""}
            )
        return job_enqueue(distributor=distributor, kind=JOB_KIND, params=params, actor=actor, dispatch=dispatch)


def import_cancel(*, distributor, job_id: int, actor=None) -> Job:
    """Cancel this tenant's import: a queued one never runs; a running one stops at its next check
    (after each chunk read, and just before the merge commits) and writes nothing. Job.DoesNotExist
    for another tenant's job or one that is not an import; JobNotCancellable once it has finished."""
    Job.objects.filter(distributor=distributor, kind=JOB_KIND).get(pk=job_id)
    return job_cancel(distributor=distributor, job_id=job_id, actor=actor, what="imported")


def import_run_now(job: Job) -> Job:
    """Run a queued import in this process (no worker) and return the finished job."""
    finished = job_execute(job.pk)
    if finished is None:
        with scope(distributor=job.distributor):
            job.refresh_from_db()
        return job
    return finished


def _record_failure(job: Job, failure: ImportFailed, kind_name: str) -> None:
    result = {
        "kind": kind_name,
        "errors": failure.errors,
        "error_count": failure.error_count,
        "error_groups": failure.groups,
    }
    if failure.error_file is not None:  # every error, for errors.csv (see errors.ErrorFile)
        result["error_file"] = str(failure.error_file.relative_to(settings.MEDIA_ROOT))
        result["errors_left_out"] = failure.errors_left_out
    job_record_result(job, result)  # an attempt the sweep replaced writes nothing


def error_file_path(job: Job) -> Path:
    """Where the import `job` keeps every error when they outnumber the listed ones."""
    return error_files_root() / job.distributor.slug / f"import-{job.pk}.csv.gz"


def run_import(job: Job, progress) -> dict:
    """The body of the "import" job: read and check the whole file chunk by chunk while staging the
    valid rows, then merge them in one transaction, or fail with every error and write nothing."""
    started = time.monotonic()
    params = job.params
    kind_name = params.get("import_kind", "")
    errors = None
    try:
        try:
            kind = get_kind(kind_name)
        except KeyError as error:
            raise ImportFailed(str(error.args[0]))
        source = inspect_file(params["path"])
        progress(1, "Reading the file…")
        errors = ErrorLog(file=ErrorFile(error_file_path(job)))
        plan = None
        data_rows = 0
        dates = DateRange()
        with Stage(kind) as stage:
            for chunk in iter_chunks(source):
                if plan is None:
                    plan = resolve_plan(kind, list(chunk.columns), params.get("mapping"), params.get("date_format"))
                    plan = dataclasses.replace(plan, decimal_comma=source.decimal_comma)
                data_rows += len(chunk)
                staged = validate_chunk(plan, chunk, errors)
                errors.flush()  # this chunk's errors to the error file, by row
                dates.add(staged)
                stage.append(staged)
                progress(2 + 68 * chunk.attrs.get("fraction", 0), f"Checked {data_rows:,} rows…")
            stage.finish()  # the last chunk's COPY
            if plan is None:
                plan = resolve_plan(kind, read_headers(source), params.get("mapping"), params.get("date_format"))
            if not data_rows:
                raise ImportFailed("The file has a header but no data rows.")
            find_duplicates(stage, plan.present, errors)
            find_unknown_references(stage, job.distributor, errors)
            if errors:
                raise errors.failure()
            progress(72, f"Checked {data_rows:,} rows; writing…")
            counts = merge(
                stage,
                distributor=job.distributor,
                present=plan.present,
                progress=progress,
                before_commit=partial(job_fence, job),  # a requeued older attempt writes nothing
            )
    except ImportFailed as failure:
        _record_failure(job, failure, kind_name)
        raise
    finally:
        if errors is not None and errors.file is not None:
            errors.file.discard()  # a kept file has its final name already; this drops an unfinished one
    result = {
        "kind": kind.name,
        "rows": stage.rows,
        **counts,
        "seconds": round(time.monotonic() - started, 3),
        "mapping": plan.describe(),
        "date_format": plan.date_format,
        "filename": params.get("filename", ""),
        **dates.result(),
    }
    job.message = summary_text(result)
    if kind.name in NAMING_KINDS:
        # Pages cached per run read the reps' and partners' names (the profit centers' sentences and
        # heat maps, the dashboard): computed again with the new names.
        transaction.on_commit(partial(tenant_cache_bump, job.distributor_id))
    upload_discard(path=params["path"], distributor=job.distributor)  # a failure keeps it (uploads_purge)
    if params.get("restratify") and kind.name == "invoice_lines":
        # Asked of the stratification by a job of its own (kind RESTRATIFY_JOB_KIND, handled by
        # `segments`): the import pipeline knows nothing of the code that runs it.
        follow_up = job_enqueue(
            distributor=job.distributor,
            kind=RESTRATIFY_JOB_KIND,
            params={"after_import": job.number},
            actor=job.created_by,
        )
        result["restratify_job"] = follow_up.number
    return result


class DateRange:
    """The first and last invoice date of the staged lines (the import page compares them with the
    published run's window)."""

    def __init__(self):
        self.first = self.last = None

    def add(self, staged: pd.DataFrame) -> None:
        if "invoice_date" not in staged or staged.empty:
            return
        days = staged["invoice_date"].dropna()
        if days.empty:
            return
        low, high = str(days.min()), str(days.max())  # ISO text sorts as dates
        self.first = low if self.first is None else min(self.first, low)
        self.last = high if self.last is None else max(self.last, high)

    def result(self) -> dict:
        return {"first_date": self.first, "last_date": self.last} if self.last else {}


def summary_text(result: dict) -> str:
    """`Imported 9,994 invoice lines: 9,994 created, 0 updated, 0 unchanged; also created 793 customers…`"""
    kind = result["kind"]
    main = {"invoice_lines": "invoice_lines"}.get(kind, kind)
    parts = [
        f"{result['created'].get(main, 0):,} created",
        f"{result['updated'].get(main, 0):,} updated",
        f"{result['unchanged'].get(main, 0):,} unchanged",
    ]
    extra = [f"{n:,} {entity.replace('_', ' ')}" for entity, n in result["created"].items() if entity != main and n]
    text = f"Imported {result['rows']:,} {kind.replace('_', ' ')} rows: {', '.join(parts)}."
    if extra:
        text += f" Also created {', '.join(extra)}."
    return text


# --- the fast path for data already typed ----------------------------------------------------------


def _stage_frame(kind: formats.Kind, frame: pd.DataFrame, first_row: int = 2) -> pd.DataFrame:
    """Typed canonical columns -> the staging layout (ISO date strings, nullable ints and booleans,
    numbers as they are, text as str)."""
    out = {}
    for name in frame.columns:
        if name not in kind.names:
            continue
        column, values = kind.column(name), frame[name]
        if column.type == DATE:
            parsed = pd.to_datetime(values) if not pd.api.types.is_datetime64_any_dtype(values) else values
            text = np.datetime_as_string(parsed.values.astype("datetime64[D]"))
            out[name] = pd.Series(text, index=frame.index, dtype=object).where(parsed.notna().values, None)
        elif column.type == DECIMAL:
            out[name] = (
                values
                if pd.api.types.is_numeric_dtype(values)
                else values.astype(object).map(lambda v: None if v is None or v != v else str(v))
            )
        elif column.type == INT:
            out[name] = values.astype("Int64")
        elif column.type == BOOL:
            out[name] = values.astype("boolean")
        else:
            text = values.astype("string")
            if column.type == CHOICE and column.default:
                text = text.fillna(column.default)
            out[name] = text
    staged = pd.DataFrame(out, index=frame.index)
    staged["_row"] = np.arange(first_row, first_row + len(frame), dtype="int64")
    return add_derived(kind, staged)


def load_frame(*, distributor, kind: str, frame: pd.DataFrame, progress=None) -> dict:
    """Write rows that are already canonical, typed and valid (the demo generator's path): the same
    staging table and merge as a file import. Returns {"kind", "rows", "created", "updated",
    "unchanged", "seconds"}. Duplicate natural keys are the caller's bug and raise from the database."""
    started = time.monotonic()
    spec = get_kind(kind)
    missing = [name for name in spec.required if name not in frame.columns]
    if missing:
        raise ValueError(f"load_frame({kind}): missing required columns {missing}")
    present = set(frame.columns) & set(spec.names)
    step = max(1, int(getattr(settings, "IMPORT_CHUNK_ROWS", 200_000)))
    with Stage(spec) as stage:
        for start in range(0, len(frame), step):
            stage.append(_stage_frame(spec, frame.iloc[start : start + step], first_row=start + 2))
            if progress is not None:
                progress(70 * min(start + step, len(frame)) / max(len(frame), 1), f"Staged {stage.rows:,} rows…")
        counts = merge(stage, distributor=distributor, present=present, progress=progress)
    return {"kind": kind, "rows": stage.rows, **counts, "seconds": round(time.monotonic() - started, 3)}


# --- uploads, preview and mapping memory -----------------------------------------------------------


def upload_save(*, distributor, uploaded, kind: str) -> tuple[str, Path]:
    """Save an uploaded file under MEDIA_ROOT/imports/<tenant>/<uuid>/ (chunk by chunk). Returns
    (upload id, path). Raises ValidationError for a file over IMPORT_MAX_BYTES or an unknown kind."""
    if kind not in KINDS:
        raise ValidationError({"kind": f"Unknown kind {kind!r}: expected one of {', '.join(KINDS)}."})
    try:
        check_size(uploaded.size)
    except ImportFailed as error:
        raise ValidationError({"file": str(error)})
    upload_id = uuid.uuid4().hex
    folder = upload_dir(distributor) / upload_id
    folder.mkdir(parents=True, exist_ok=True)
    name = get_valid_filename(Path(uploaded.name or "upload").name) or "upload"
    path = folder / name
    with path.open("wb") as out:
        for block in uploaded.chunks():
            out.write(block)
    (folder / "upload.json").write_text(json.dumps({"kind": kind, "filename": uploaded.name, "name": name}))
    return upload_id, path


def upload_get(*, distributor, upload_id: str) -> tuple[dict, Path]:
    """The saved upload of this tenant (its metadata and path); LookupError when there is none."""
    try:
        upload_id = uuid.UUID(str(upload_id)).hex
    except ValueError:
        raise LookupError(upload_id)
    folder = upload_dir(distributor) / upload_id
    try:
        meta = json.loads((folder / "upload.json").read_text())
    except (OSError, ValueError):
        raise LookupError(upload_id)
    return meta, folder / meta["name"]


def mapping_remembered(*, distributor, kind: str) -> ColumnMapping | None:
    with scope(distributor=distributor):
        return ColumnMapping.objects.filter(distributor=distributor, kind=kind).first()


def suggest_mapping(kind: formats.Kind, headers: list[str], remembered: dict | None = None) -> dict[str, str]:
    """{canonical: source} for the mapping step: the remembered mapping where the file still has
    its columns, then names and aliases."""
    found: dict[str, str] = {}
    for name, value in (remembered or {}).items():
        if name in kind.names and value:
            try:
                source = parse_source(value, headers, kind.column(name))
            except ImportFailed:
                continue
            found[name] = value if not isinstance(source, str) else source
    used = set(found.values())
    for name, header in formats.detect_columns(kind, [h for h in headers if h not in used]).items():
        found.setdefault(name, header)
    return {name: found[name] for name in kind.names if name in found}


PREVIEW_ROWS = 10
PREVIEW_CELL_CHARS = 80


def import_preview(*, distributor, kind: str, path: str | Path, rows: int = PREVIEW_ROWS) -> dict:
    """What the mapping step shows: the file's columns, its first rows (at most PREVIEW_ROWS, each
    cell cut to PREVIEW_CELL_CHARS), the suggested mapping and date format (the remembered one when it
    reads the file's dates, else the one detected from the first DATE_SAMPLE rows; none when they
    are ambiguous: `date_guess` says so). Raises ImportFailed when the file cannot be read as a table."""
    spec = get_kind(kind)
    source = inspect_file(path)
    headers, first_rows = preview(source, rows=max(rows, DATE_SAMPLE))
    remembered = mapping_remembered(distributor=distributor, kind=kind)
    suggested = suggest_mapping(spec, headers, remembered.mapping if remembered else None)
    date_format = remembered.date_format if remembered else ""
    date_guess = None
    for name, value in suggested.items():
        if spec.column(name).type == DATE and value in headers:
            index = headers.index(value)
            date_guess = detect_date_format(row[index] for row in first_rows)
            date_guess = {
                "column": value,
                "format": date_guess.format,
                "candidates": date_guess.candidates,
                "sample": clip(date_guess.sample, PREVIEW_CELL_CHARS),
                "ambiguous": date_guess.ambiguous,
            }
            break
    detected = False
    if date_guess and date_format not in date_guess["candidates"]:
        # The remembered format does not read these dates: propose the detected one (none if ambiguous).
        date_format = date_guess["format"] if date_guess["format"] != ISO_FORMAT else ""
        detected = bool(date_format)
    return {
        "headers": headers,
        "decimal_comma": source.decimal_comma,
        "rows": [[clip(cell, PREVIEW_CELL_CHARS) for cell in row] for row in first_rows[: min(rows, PREVIEW_ROWS)]],
        "mapping": suggested,
        "missing": [name for name in spec.required if name not in suggested],
        "date_format": date_format or "",
        "date_format_detected": detected,
        "date_guess": date_guess,
        "remembered": remembered is not None,
        "format": source.format,
        "encoding": source.encoding,
        "delimiter": {"\t": "tab"}.get(source.delimiter, source.delimiter),
    }


# --- reading results -------------------------------------------------------------------------------


def import_errors(job: Job) -> tuple[list[dict], int]:
    result = job.result or {}
    return result.get("errors", []), int(result.get("error_count", 0))


def import_error_groups(job: Job) -> list[dict]:
    """Identical errors counted together ({column, reason, count, first_row, value, hint, text})."""
    return (job.result or {}).get("error_groups", [])


def import_upload_id(job: Job) -> str | None:
    """The id of the upload a failed import read, while it is kept (IMPORT_KEEP_FAILED_HOURS): the
    mapping step of that upload corrects and retries the import. None once it is gone, or for a file
    that was not uploaded (e.g. `manage.py import_data`)."""
    path = (job.params or {}).get("path")
    folder = upload_folder_of(path, job.distributor) if path else None
    if folder is None:
        return None
    try:
        upload_get(distributor=job.distributor, upload_id=folder.name)
    except LookupError:
        return None
    return folder.name


def errors_csv(job: Job) -> str:
    """The job's errors as one CSV text: every one (cells escaped against formula injection)."""
    return "".join(errors_csv_blocks(job))


def errors_csv_download(job: Job) -> str | Iterator[str]:
    """errors.csv's body: one text for the listed errors, or the error file's blocks, streamed."""
    return errors_csv(job) if _error_file(job) is None else errors_csv_blocks(job)


def _error_file(job: Job) -> Path | None:
    """The file holding every error of a failed import, when they outnumbered the listed ones."""
    name = (job.result or {}).get("error_file")
    path = Path(settings.MEDIA_ROOT) / name if name else None
    return path if path is not None and path.is_file() else None


def errors_csv_blocks(job: Job) -> Iterator[str]:
    """The job's errors as CSV text, a block at a time: every one, from the error file when the
    errors outnumbered the listed ones, else the listed ones (cells escaped against formulas)."""
    errors, count = import_errors(job)
    stored = _error_file(job)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_fields())
    if stored is None:
        for error in errors:
            writer.writerow([escape_formula(error.get(k)) if error.get(k) is not None else "" for k in csv_fields()])
        yield out.getvalue() + _more_errors_line(count, len(errors))
        return
    yield out.getvalue()
    with gzip.open(stored, "rt", encoding="utf-8", newline="") as fh:
        while block := fh.read(1024 * 1024):
            yield block
    yield _more_errors_line(count, count - int(job.result.get("errors_left_out", 0)))


def _more_errors_line(count: int, listed: int) -> str:
    """The last line of errors.csv when some errors are counted but not listed (else nothing)."""
    if count <= listed:
        return ""
    out = io.StringIO()
    csv.writer(out).writerow(["", "", "", f"… and {count - listed:,} more errors (only the first {listed:,} listed)"])
    return out.getvalue()


def csv_fields() -> tuple[str, ...]:
    return ("row", "column", "value", "reason")
