"""Runs, jobs and imports are numbered per tenant (issue 11, item 5): a new tenant's first run is #1
in pages, URLs and the API, so no tenant learns another's activity volume from the numbers. Imports are
jobs of kind "import" and share the tenant's job numbering."""

import threading

import pytest
from django.db import connection
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from segments import services as run_services
from segments.models import StratificationRun
from stratify.jobs.models import Job
from stratify.jobs.services import job_enqueue
from stratify.tenancy import numbering
from tests.conftest import api_as, make_tenant
from tests.pages.conftest import login, make_run

pytestmark = pytest.mark.django_db


def page(t, name, **kwargs):
    return reverse(name, kwargs={"tenant": t.slug, **kwargs})


def busy_tenant(t, runs=3, imports=2):
    """Tenant A's activity: runs (each with its job) and imports, so its pks run ahead of B's numbers."""
    with scope(distributor=t.distributor):
        for _ in range(runs):
            run_services.run_request(distributor=t.distributor, actor=t.manager, dispatch=False)
        for _ in range(imports):
            job_enqueue(distributor=t.distributor, kind="import", actor=t.manager, dispatch=False)


def test_second_tenants_first_run_job_and_import_are_number_one_on_pages(tenant_a, tenant_b):
    busy_tenant(tenant_a)
    with scope(distributor=tenant_b.distributor):
        imported = job_enqueue(distributor=tenant_b.distributor, kind="import", actor=tenant_b.manager, dispatch=False)
    client = login(tenant_b.manager)
    response = client.post(page(tenant_b, "run-request"))
    with scopes_disabled():
        run = StratificationRun.objects.select_related("job").get(distributor=tenant_b.distributor)
        assert run.pk > 1 and run.job.pk > 2 and imported.pk > 2  # A's rows came first
        assert (run.number, run.job.number, imported.number) == (1, 2, 1)  # imports share the job numbering
    assert response.status_code == 302 and response["Location"] == f"/{tenant_b.slug}/model/runs/1/"
    followed = client.get(response["Location"]).content.decode()
    assert "Run #1 queued" in followed and '<h1 class="h3 mb-0 me-auto">Run #1 ' in followed
    assert f'href="/{tenant_b.slug}/jobs/2/"' in followed  # "Follow its progress" names the job's number

    settings_page = client.get(page(tenant_b, "model-settings")).content.decode()
    assert f'<a href="/{tenant_b.slug}/model/runs/1/">#1</a>' in settings_page
    assert "Model run job #2" in client.get(f"/{tenant_b.slug}/jobs/2/").content.decode()
    jobs_page = client.get(page(tenant_b, "job-list")).content.decode()
    assert "Model run" in jobs_page and ">stratify<" not in jobs_page  # kinds in words, not codes
    assert (
        f'<a href="/{tenant_b.slug}/jobs/2/">2</a>' in jobs_page
        and f'<a href="/{tenant_b.slug}/jobs/1/">1</a>' in jobs_page
    )
    assert "Import #1:" in client.get(f"/{tenant_b.slug}/imports/1/").content.decode()
    imports_page = client.get(page(tenant_b, "import-list")).content.decode()
    assert f'<a href="/{tenant_b.slug}/imports/1/">1</a>' in imports_page
    # B's numbers stop where B's activity stops, whatever A's pks are.
    assert client.get(f"/{tenant_b.slug}/model/runs/2/").status_code == 404
    assert client.get(f"/{tenant_b.slug}/jobs/3/").status_code == 404
    assert client.get(f"/{tenant_b.slug}/imports/2/").status_code == 404  # job #2 is a run's, not an import


def test_second_tenants_first_run_job_and_import_are_number_one_in_the_api(
    tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    busy_tenant(tenant_a)
    api = api_as(tenant_b.manager)
    base = f"/api/v1/tenants/{tenant_b.slug}"
    with scope(distributor=tenant_b.distributor):
        job_enqueue(distributor=tenant_b.distributor, kind="import", actor=tenant_b.manager, dispatch=False)
    started = api.post(f"{base}/runs/", {"publish": False}, format="json")
    assert started.status_code == 202, started.content
    assert started.json()["id"] == 1 and started.json()["job_id"] == 2
    detail = api.get(f"{base}/runs/1/").json()
    assert detail["id"] == 1 and detail["job_id"] == 2
    assert [r["id"] for r in api.get(f"{base}/runs/").json()["results"]] == [1]
    assert [j["id"] for j in api.get(f"{base}/jobs/").json()["results"]] == [2, 1]
    job = api.get(f"{base}/jobs/2/").json()
    assert job["id"] == 2 and job["kind"] == "stratify" and job["params"] == {"run_id": 1}
    imported = api.get(f"{base}/imports/1/").json()
    assert imported["id"] == 1 and imported["errors_csv"].endswith(f"{base}/imports/1/errors.csv")
    assert [i["id"] for i in api.get(f"{base}/imports/").json()["results"]] == [1]
    assert api.get(f"{base}/runs/2/").status_code == 404
    assert api.get(f"{base}/jobs/3/").status_code == 404


def test_the_first_published_run_is_not_compared_with_itself(tenant_b):
    run = make_run(tenant_b.distributor, {tenant_b.assigned_customer: {"segment": "core"}})
    assert run.number == 1
    html = login(tenant_b.manager).get(page(tenant_b, "run-detail", run_id=1)).content.decode()
    assert "Compared with run #1" not in html
    assert "the first published run" in html
    # Its count is every customer listed, the lapsed included: it says so (History counts the ranked).
    assert '<strong id="moved-count">1</strong> customer in this run, the lapsed included' in html
    second = make_run(tenant_b.distributor, {tenant_b.assigned_customer: {"segment": "marginal"}})
    with scopes_disabled():
        StratificationRun.objects.filter(pk=second.pk).update(compared_to=run)
    html = login(tenant_b.manager).get(page(tenant_b, "run-detail", run_id=2)).content.decode()
    assert "Compared with run #1" in html


def test_numbers_are_per_tenant_in_creation_order(db):
    a, b = make_tenant("alpha"), make_tenant("bravo")
    numbers = []
    for t in (a, b, a, a, b):
        with scope(distributor=t.distributor):
            job = job_enqueue(distributor=t.distributor, kind="import", dispatch=False)
        numbers.append((t.slug, job.number))
    assert numbers == [("alpha", 1), ("bravo", 1), ("alpha", 2), ("alpha", 3), ("bravo", 2)]
    with scopes_disabled():
        assert str(Job.objects.get(distributor=b.distributor, number=2)) == "import #2 (queued)"


def test_a_number_taken_meanwhile_is_retried(tenant_a, monkeypatch):
    """Two requests may read the same max(): the unique (distributor, number) refuses the second
    insert, which retries with the next number."""
    with scope(distributor=tenant_a.distributor):
        first = job_enqueue(distributor=tenant_a.distributor, kind="import", dispatch=False)
        real, calls = numbering.next_number, []

        def stale_then_real(model, distributor_id):
            calls.append(model)
            return 1 if len(calls) == 1 else real(model, distributor_id)

        monkeypatch.setattr(numbering, "next_number", stale_then_real)
        second = job_enqueue(distributor=tenant_a.distributor, kind="import", dispatch=False)
    assert (first.number, second.number, len(calls)) == (1, 2, 2)


def test_backfill_numbers_existing_rows_per_tenant_in_creation_order(tenant_a, tenant_b):
    from django.apps import apps

    busy_tenant(tenant_a, runs=2, imports=1)
    busy_tenant(tenant_b, runs=1, imports=2)
    with scopes_disabled():
        for model in (Job, StratificationRun):
            for row in model.objects.all():
                model.objects.filter(pk=row.pk).update(number=1_000_000 + row.pk)  # numbered by id, as before
        numbering.backfill(apps.get_model("jobs", "Job"))
        numbering.backfill(apps.get_model("segments", "StratificationRun"))
        for t, runs, jobs in ((tenant_a, [1, 2], [1, 2, 3]), (tenant_b, [1], [1, 2, 3])):
            for model, expected in ((StratificationRun, runs), (Job, jobs)):
                numbers = (
                    model.objects.filter(distributor=t.distributor).order_by("pk").values_list("number", flat=True)
                )
                assert list(numbers) == expected, model


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_get_distinct_numbers(tenant_a):
    """Threads on their own connections enqueue jobs for one tenant at once: every number once, no gap."""
    errors = []

    def enqueue_many():
        try:
            with scope(distributor=tenant_a.distributor):
                for _ in range(10):
                    job_enqueue(distributor=tenant_a.distributor, kind="import", dispatch=False)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=enqueue_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with scopes_disabled():
        numbers = sorted(Job.objects.filter(distributor=tenant_a.distributor).values_list("number", flat=True))
    assert numbers == list(range(1, 41))
