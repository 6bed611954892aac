"""The job page polls with htmx while the job runs and stops when it ends; the API shows progress."""

import re

import pytest
from django_scopes import scope, scopes_disabled

from stratify.jobs.models import Job
from stratify.jobs.services import job_enqueue
from tests.conftest import api_as


def make_job(tenant, **fields) -> Job:
    with scope(distributor=tenant.distributor):
        job = job_enqueue(distributor=tenant.distributor, kind="import", actor=tenant.manager, dispatch=False)
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(**fields)
        return Job.objects.get(pk=job.pk)


@pytest.mark.django_db
def test_running_job_page_polls_and_finished_page_does_not(client, tenant_a):
    job = make_job(tenant_a, status=Job.Status.RUNNING, progress=42, message="Loading lines")
    client.force_login(tenant_a.manager)
    url = f"/{tenant_a.slug}/jobs/{job.number}/"
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert f'hx-get="{url}"' in html and 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="42"' in html and "Loading lines" in html and "<html" in html

    partial = client.get(url, headers={"HX-Request": "true"})
    fragment = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in fragment and fragment.strip().startswith('<div id="job-progress"')
    assert 'hx-trigger="every 1s"' in fragment

    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, progress=100, message="Done.")
    for response in (client.get(url), client.get(url, headers={"HX-Request": "true"})):
        body = response.content.decode()
        assert "hx-get" not in body and "hx-trigger" not in body  # polling stops once the job ended
        assert 'data-status="succeeded"' in body and 'aria-valuenow="100"' in body


@pytest.mark.django_db
def test_failed_job_page_shows_the_message_without_polling(client, tenant_a):
    job = make_job(tenant_a, status=Job.Status.FAILED, progress=30, message="Column 'Revenue' is missing.")
    client.force_login(tenant_a.manager)
    body = client.get(f"/{tenant_a.slug}/jobs/{job.number}/").content.decode()
    assert "Column &#x27;Revenue&#x27; is missing." in body and "bg-danger" in body and "hx-get" not in body


@pytest.mark.django_db
def test_job_api_shows_progress_and_filters(tenant_a):
    running = make_job(tenant_a, status=Job.Status.RUNNING, progress=57, message="Half")
    make_job(tenant_a, status=Job.Status.SUCCEEDED, progress=100)
    api = api_as(tenant_a.manager)
    detail = api.get(f"/api/v1/tenants/{tenant_a.slug}/jobs/{running.number}/")
    assert detail.status_code == 200
    assert {k: detail.json()[k] for k in ("id", "kind", "status", "progress", "message")} == {
        "id": running.number,
        "kind": "import",
        "status": "running",
        "progress": 57,
        "message": "Half",
    }
    listing = api.get(f"/api/v1/tenants/{tenant_a.slug}/jobs/", {"status": "running"}).json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == running.number


@pytest.mark.django_db
def test_job_of_another_tenant_is_404_on_page_and_api(client, tenant_a, tenant_b):
    foreign = make_job(tenant_b, status=Job.Status.RUNNING, progress=10)
    client.force_login(tenant_a.manager)
    assert client.get(f"/{tenant_a.slug}/jobs/{foreign.number}/").status_code == 404
    assert api_as(tenant_a.manager).get(f"/api/v1/tenants/{tenant_a.slug}/jobs/{foreign.number}/").status_code == 404


@pytest.mark.django_db
def test_reps_have_a_jobs_link_showing_only_their_own_jobs(client, tenant_a):
    """Issue 11, item 7: the navigation offers reps their jobs; the list shows theirs only."""
    with scope(distributor=tenant_a.distributor):
        mine = job_enqueue(distributor=tenant_a.distributor, kind="import", actor=tenant_a.rep_user, dispatch=False)
    theirs = make_job(tenant_a, message="The manager's import")
    with scopes_disabled():
        Job.objects.filter(pk=mine.pk).update(message="The rep's own import")
    client.force_login(tenant_a.rep_user)
    home = client.get(f"/{tenant_a.slug}/customers/").content.decode()
    link = re.search(r'<a class="nav-link" href="([^"]+)" id="nav-jobs">Jobs</a>', home)
    assert link
    jobs = client.get(link.group(1))
    assert jobs.status_code == 200
    body = jobs.content.decode()
    assert "The rep&#x27;s own import" in body and "manager&#x27;s import" not in body
    assert theirs.pk != mine.pk
    client.force_login(tenant_a.customer_user)
    assert 'id="nav-jobs"' not in client.get(f"/{tenant_a.slug}/scorecard/").content.decode()
