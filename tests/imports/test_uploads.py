"""Uploads: a file over IMPORT_MAX_BYTES is refused from its Content-Length before the body is read, or
while it streams in (nothing stored, not even a temporary file); an uploaded file is deleted once its
import succeeds, kept IMPORT_KEEP_FAILED_HOURS after a failure (to retry from the mapping step), then
purged by the periodic task."""

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

import imports.uploads
from imports.services import import_run_now, import_start, upload_save
from imports.tasks import purge_uploads_task
from imports.uploads import upload_dir, uploads_purge
from stratify.jobs.models import Job
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

LINES = "invoice_id,invoice_date,customer_id,product_id,quantity,revenue,cost\nI-1,2024-01-01,C-1,P-1,1,10,5\n"
KB = 1024


def big_file(size: int, name="lines.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (LINES * (size // len(LINES) + 1)).encode()[:size], content_type="text/csv")


@pytest.fixture
def temp_dir(settings, tmp_path):
    """Uploads over 2.5 KB go to temporary files in a directory the test can inspect."""
    folder = tmp_path / "upload-tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 2500
    return folder


def stored(media) -> list[Path]:
    return (
        [p for p in (Path(media) / "imports").rglob("*") if p.is_file()] if (Path(media) / "imports").exists() else []
    )


def no_parsing(monkeypatch):
    def refuse(self):
        raise AssertionError("the body of an oversized upload was parsed")

    monkeypatch.setattr(MultiPartParser, "parse", refuse)


# --- refusing oversized uploads --------------------------------------------------------------------


def test_api_refuses_from_the_content_length_without_reading_the_body(tenant_a, settings, media, monkeypatch):
    settings.IMPORT_MAX_BYTES = 64 * KB
    no_parsing(monkeypatch)
    response = api_as(tenant_a.manager).post(
        reverse("api-import-list", kwargs={"tenant": tenant_a.slug}),
        {"kind": "invoice_lines", "file": big_file(3 * 1024 * KB)},
    )
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "The upload is over the 0.1 MB import limit (IMPORT_MAX_BYTES); nothing was kept."
    )
    assert stored(media) == []


def test_page_refuses_from_the_content_length_without_reading_the_body(tenant_a, settings, media, monkeypatch):
    settings.IMPORT_MAX_BYTES = 64 * KB
    no_parsing(monkeypatch)
    client = Client()
    client.force_login(tenant_a.manager)
    response = client.post(
        reverse("import-list", kwargs={"tenant": tenant_a.slug}),
        {"kind": "invoice_lines", "file": big_file(3 * 1024 * KB)},
    )
    assert response.status_code == 413
    assert "over the 0.1 MB import limit (IMPORT_MAX_BYTES); nothing was kept" in response.content.decode()
    assert stored(media) == []


@pytest.mark.parametrize("where", ["api", "page"])
def test_an_upload_is_stopped_while_it_streams(tenant_a, settings, media, temp_dir, monkeypatch, where):
    """A body whose Content-Length passes (here: the allowance for the form's other fields is made
    large) is still stopped by the upload handler once the file's bytes pass the limit: the handler
    stops the parse, no temporary file is left and nothing is stored."""
    settings.IMPORT_MAX_BYTES = 64 * KB
    monkeypatch.setattr(imports.uploads, "ENVELOPE_BYTES", 10 * 1024 * KB)
    received = []
    original = imports.uploads.LimitedUploadHandler.receive_data_chunk

    def spy(self, raw_data, start):
        received.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(imports.uploads.LimitedUploadHandler, "receive_data_chunk", spy)
    data = {"kind": "invoice_lines", "file": big_file(3 * 1024 * KB)}
    if where == "api":
        response = api_as(tenant_a.manager).post(reverse("api-import-list", kwargs={"tenant": tenant_a.slug}), data)
        assert response.json()["detail"].startswith("The upload is over the 0.1 MB import limit")
    else:
        client = Client()
        client.force_login(tenant_a.manager)
        response = client.post(reverse("import-list", kwargs={"tenant": tenant_a.slug}), data)
        assert "over the 0.1 MB import limit" in response.content.decode()
    assert response.status_code == 413
    assert sum(received) <= 64 * KB + 64 * KB  # stopped at the first chunk past the limit, not at 3 MB
    assert list(temp_dir.iterdir()) == []
    assert stored(media) == []
    with scopes_disabled():
        assert not Job.objects.filter(distributor=tenant_a.distributor).exists()


def test_the_upload_page_still_checks_csrf(tenant_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant_a.manager)
    url = reverse("import-list", kwargs={"tenant": tenant_a.slug})
    assert client.post(url, {"kind": "invoice_lines", "file": big_file(100)}).status_code == 403
    token = client.get(url).cookies["csrftoken"].value
    response = client.post(url, {"kind": "invoice_lines", "file": big_file(100), "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_an_upload_under_the_limit_goes_through(tenant_a, settings, media, temp_dir):
    settings.IMPORT_MAX_BYTES = 64 * KB
    response = api_as(tenant_a.manager).post(
        reverse("api-import-list", kwargs={"tenant": tenant_a.slug}),
        {"kind": "invoice_lines", "file": SimpleUploadedFile("l.csv", LINES.encode() * 500)},
    )
    assert response.status_code == 202, response.content
    assert len(stored(media)) == 2  # the file and its metadata


# --- keeping uploaded files for a bounded time -----------------------------------------------------


def start(t, content: str):
    _, path = upload_save(
        distributor=t.distributor, uploaded=SimpleUploadedFile("x.csv", content.encode()), kind="invoice_lines"
    )
    job = import_start(distributor=t.distributor, actor=t.manager, kind="invoice_lines", path=path, dispatch=False)
    return path, job


def test_the_file_is_deleted_when_the_import_succeeds(tenant_a, media):
    path, job = start(tenant_a, LINES)
    assert path.exists()
    assert import_run_now(job).status == Job.Status.SUCCEEDED
    assert not path.exists() and not path.parent.exists()


def test_a_file_given_by_path_is_never_deleted(tenant_a, tmp_path):
    path = tmp_path / "from-the-command-line.csv"
    path.write_text(LINES)
    job = import_start(distributor=tenant_a.distributor, actor=None, kind="invoice_lines", path=path, dispatch=False)
    assert import_run_now(job).status == Job.Status.SUCCEEDED
    assert path.exists()


def age(folder: Path, hours: float) -> None:
    stamp = time.time() - hours * 3600
    for p in [folder, *folder.iterdir()]:
        os.utime(p, (stamp, stamp))


def test_a_failed_import_keeps_its_file_for_a_bounded_time(tenant_a, tenant_b, settings, media):
    settings.IMPORT_KEEP_FAILED_HOURS = 24
    path, job = start(tenant_a, LINES.replace(",10,5", ",lots,5"))
    assert import_run_now(job).status == Job.Status.FAILED
    assert path.exists()  # to retry from the mapping step
    other, _ = start(tenant_b, LINES.replace(",10,5", ",lots,5"))
    age(path.parent, 23)
    age(other.parent, 23)
    assert uploads_purge() == 0 and path.exists()
    age(path.parent, 25)
    assert purge_uploads_task() == 1
    assert not path.parent.exists()
    assert other.exists()  # the other tenant's younger upload


def test_an_abandoned_upload_is_purged_but_not_one_a_job_still_needs(tenant_a, settings, media):
    settings.IMPORT_KEEP_FAILED_HOURS = 1
    _, abandoned = upload_save(
        distributor=tenant_a.distributor, uploaded=SimpleUploadedFile("a.csv", LINES.encode()), kind="customers"
    )
    queued_path, job = start(tenant_a, LINES)
    age(abandoned.parent, 2)
    age(queued_path.parent, 2)
    assert uploads_purge(now=timezone.now() + timedelta(minutes=1)) == 1
    assert not abandoned.exists()
    assert queued_path.exists()  # its import has not run yet
    assert upload_dir(tenant_a.distributor).exists()
