"""Uploaded files: refused while they stream in when over IMPORT_MAX_BYTES, deleted once their import
succeeded, kept IMPORT_KEEP_FAILED_HOURS otherwise (a failed import is retried from the mapping step),
then purged by a periodic task.

The upload views call `limit_upload(request)` before anything reads the body: a Content-Length over
the limit (plus the form's envelope) is refused at once, without reading it; otherwise
`LimitedUploadHandler` goes first in the request's upload handlers and stops the parse as soon as the
file's bytes pass the limit, so the views answer 413 and nothing is stored (the temporary file the
next handler had started is closed, hence deleted). In production the web server refuses such a body
first (README: `client_max_body_size`)."""

import logging
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils import timezone
from django_scopes import scopes_disabled

logger = logging.getLogger(__name__)

# What a multipart body may hold beyond the file: the boundaries, the part headers and the other fields.
ENVELOPE_BYTES = 1024 * 1024


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def too_large_message() -> str:
    return f"The upload is over the {_mb(settings.IMPORT_MAX_BYTES)} import limit (IMPORT_MAX_BYTES); nothing was kept."


class LimitedUploadHandler(FileUploadHandler):
    """First handler of an upload request: counts the bytes of the files and stops the upload once
    they pass IMPORT_MAX_BYTES (the request is marked `upload_too_large`)."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = int(settings.IMPORT_MAX_BYTES)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.request.upload_too_large = True
            # The rest of the body is read and dropped (Content-Length was checked: it is bounded), so
            # the client gets the 413 instead of a reset connection.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler builds the file


def limit_upload(request) -> bool:
    """Call before the body is read. False when the declared body is too large (answer 413 without
    reading it); otherwise installs LimitedUploadHandler and returns True."""
    request.upload_too_large = False
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.IMPORT_MAX_BYTES + ENVELOPE_BYTES:
        request.upload_too_large = True
        return False
    request.upload_handlers.insert(0, LimitedUploadHandler(request))
    return True


# --- keeping and purging ---------------------------------------------------------------------------


def imports_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def upload_dir(distributor) -> Path:
    """The tenant's uploads folder: MEDIA_ROOT/imports/<tenant>/ (one sub-folder per upload)."""
    return imports_root() / distributor.slug


def upload_folder_of(path: str | Path, distributor) -> Path | None:
    """The upload folder (MEDIA_ROOT/imports/<tenant>/<id>/) holding `path`, or None for a file that
    is not one of this tenant's uploads (e.g. a path given to `manage.py import_data`)."""
    try:
        folder = Path(path).resolve().parent
        tenant_root = upload_dir(distributor).resolve()
    except (OSError, ValueError):
        return None
    return folder if folder.parent == tenant_root else None


def upload_discard(*, path: str | Path, distributor) -> bool:
    """Delete the upload holding `path` (after its import succeeded). Never touches other files."""
    folder = upload_folder_of(path, distributor)
    if folder is None or not folder.is_dir():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def uploads_purge(*, now=None) -> int:
    """Delete upload folders older than IMPORT_KEEP_FAILED_HOURS (failed, cancelled or never started
    imports) unless a queued or running import still reads them. Returns how many were deleted."""
    from accounts.models import Distributor
    from stratify.jobs.models import Job

    root = imports_root()
    if not root.is_dir():
        return 0
    now = now or timezone.now()
    cutoff = now.timestamp() - float(settings.IMPORT_KEEP_FAILED_HOURS) * 3600
    deleted = 0
    for tenant_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        old = [p for p in tenant_dir.iterdir() if p.is_dir() and _last_change(p) < cutoff]
        if not old:
            continue
        with scopes_disabled():
            distributor = Distributor.objects.filter(slug=tenant_dir.name).first()
            active = set()
            if distributor is not None:
                paths = Job.objects.filter(
                    distributor=distributor, kind="import", status__in=(Job.Status.QUEUED, Job.Status.RUNNING)
                ).values_list("params__path", flat=True)
                active = {Path(p).parent.name for p in paths if p}
        for folder in old:
            if folder.name in active:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            deleted += 1
    if deleted:
        logger.info("purged %s uploaded files older than %s hours", deleted, settings.IMPORT_KEEP_FAILED_HOURS)
    return deleted


def _last_change(folder: Path) -> float:
    try:
        return max([folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())])
    except OSError:
        return time.time()
