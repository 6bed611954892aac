"""Cancelling an import: a manager stops a queued or running import from its page, the job page or the
API; a running import stops at its next check (between chunks, or just before the merge commits) and
nothing is written."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

import imports.loading
import imports.services
from imports.services import import_cancel, import_run_now, import_start
from stratify.jobs.models import Job
from stratify.jobs.services import jobs_sweep_stale
from tests.conftest import api_as
from tests.imports.conftest import table_counts

pytestmark = pytest.mark.django_db

HEADER = "invoice_id,invoice_date,customer_id,product_id,quantity,revenue,cost\n"
LINES = HEADER + "".join(f"I-{i},2024-01-01,C-{i % 3},P-{i % 4},1,10.50,5.25\n" for i in range(10))
CANCELLED = "Cancelled at a manager's request; nothing was written."


@pytest.fixture
def queued(tenant_a, write_file):
    def make():
        return import_start(
            distributor=tenant_a.distributor,
            actor=tenant_a.manager,
            kind="invoice_lines",
            path=write_file(LINES),
            dispatch=False,
        )

    return make


def reload(job) -> Job:
    with scopes_disabled():
        return Job.objects.get(pk=job.pk)


def page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def cancel_url(t, job, name="import-cancel"):
    return reverse(name, kwargs={"tenant": t.slug, "pk": job.number})


def test_a_queued_import_cancelled_from_its_page_never_runs(tenant_a, queued):
    job = queued()
    before = table_counts(tenant_a.distributor)
    client = page(tenant_a.manager)
    detail = client.get(reverse("import-detail", kwargs={"tenant": tenant_a.slug, "pk": job.number})).content.decode()
    assert 'id="cancel-import"' in detail
    response = client.post(cancel_url(tenant_a, job))
    assert response.status_code == 302
    job = reload(job)
    assert job.status == Job.Status.FAILED and job.finished_at is not None
    assert job.message == "Cancelled by alpha-manager before it started; nothing was imported."
    assert job.result == {"cancelled": True}
    assert import_run_now(job).status == Job.Status.FAILED  # a late message for it does nothing
    assert table_counts(tenant_a.distributor) == before
    html = client.get(response["Location"]).content.decode()
    assert "Cancelled by alpha-manager" in html and 'id="cancel-import"' not in html


def test_the_job_page_offers_the_cancel_button_to_managers_only(tenant_a, queued):
    job = queued()
    url = reverse("job-detail", kwargs={"tenant": tenant_a.slug, "pk": job.number})
    html = page(tenant_a.manager).get(url).content.decode()
    assert f'action="{cancel_url(tenant_a, job)}"' in html
    assert 'id="cancel-import"' not in page(tenant_a.rep_user).get(url).content.decode()


def test_api_cancel(tenant_a, tenant_b, queued):
    job = queued()
    url = cancel_url(tenant_a, job, "api-import-cancel")
    assert api_as(tenant_a.rep_user).post(url).status_code == 403
    assert api_as(tenant_b.manager).post(cancel_url(tenant_b, job, "api-import-cancel")).status_code == 404
    assert page(tenant_a.rep_user).post(cancel_url(tenant_a, job)).status_code == 403
    assert reload(job).status == Job.Status.QUEUED
    response = api_as(tenant_a.manager).post(url)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "failed" and response.json()["cancelled"] is True
    again = api_as(tenant_a.manager).post(url)
    assert again.status_code == 409
    assert again.json()["detail"] == "The import has already finished."


def test_a_running_import_stops_between_chunks_and_writes_nothing(tenant_a, queued, settings, monkeypatch):
    settings.IMPORT_CHUNK_ROWS = 2
    job = queued()
    before = table_counts(tenant_a.distributor)
    chunks = []
    validate = imports.services.validate_chunk

    def validate_then_cancel(plan, chunk, errors):
        chunks.append(len(chunk))
        if len(chunks) == 2:  # the manager presses "Cancel" while the file is being read
            running = reload(job)
            assert running.status == Job.Status.RUNNING
            assert import_cancel(distributor=tenant_a.distributor, job_id=job.pk, actor=tenant_a.manager).status == (
                Job.Status.RUNNING
            )
        return validate(plan, chunk, errors)

    monkeypatch.setattr(imports.services, "validate_chunk", validate_then_cancel)
    job = import_run_now(job)
    assert job.status == Job.Status.FAILED
    assert job.message == CANCELLED
    assert job.result == {"cancelled": True}
    assert chunks == [2, 2]  # it stopped at the next check, not at the end of the file
    assert table_counts(tenant_a.distributor) == before


def test_a_cancel_during_the_merge_rolls_it_back(tenant_a, queued, monkeypatch):
    job = queued()
    before = table_counts(tenant_a.distributor)
    refresh = imports.loading.refresh_summaries
    written = {}

    def refresh_then_cancel(cursor, *args, **kwargs):
        refresh(cursor, *args, **kwargs)
        with scopes_disabled():
            written["lines"] = table_counts(tenant_a.distributor)["invoice_lines"]
        import_cancel(distributor=tenant_a.distributor, job_id=job.pk, actor=tenant_a.manager)

    monkeypatch.setattr(imports.loading, "refresh_summaries", refresh_then_cancel)
    job = import_run_now(job)
    assert written["lines"] == 10  # the merge had written the lines inside its transaction...
    assert (job.status, job.message) == (Job.Status.FAILED, CANCELLED)
    assert table_counts(tenant_a.distributor) == before  # ...and rolled them back


def test_a_finished_import_cannot_be_cancelled(tenant_a, queued):
    job = import_run_now(queued())
    assert job.status == Job.Status.SUCCEEDED
    client = page(tenant_a.manager)
    response = client.post(cancel_url(tenant_a, job), follow=True)
    assert "The import has already finished." in response.content.decode()
    assert reload(job).status == Job.Status.SUCCEEDED


def test_the_sweep_fails_a_lost_job_whose_cancel_was_asked(tenant_a, queued, monkeypatch):
    job = queued()
    stale = timezone.now() - timedelta(hours=1)
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=1, heartbeat_at=stale)
    with scope(distributor=tenant_a.distributor):
        import_cancel(distributor=tenant_a.distributor, job_id=job.pk, actor=tenant_a.manager)
    monkeypatch.setattr("stratify.jobs.services._send", lambda *a, **k: None)
    counts = jobs_sweep_stale()
    assert counts["failed"] == 1 and counts["requeued"] == 0
    job = reload(job)
    assert (job.status, job.message, job.result) == (Job.Status.FAILED, CANCELLED, {"cancelled": True})
