"""The quick try works (issue 11, item 1): the model page runs the model as of a chosen date and
window (preview or published); an import whose lines fall outside the published run's window says so
and offers a run as of its last date; a customer with lines but no score says why."""

import re
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from segments.models import StratificationProfile, StratificationRun
from stratify.jobs.models import Job
from tests.imports.test_pipeline import LINES

pytestmark = pytest.mark.django_db

OLD_LINES = (
    "invoice_id,invoice_date,customer_id,customer_name,product_id,category,quantity,revenue,cost\n"
    "OLD-1,1/3/2014,SS-1,Old Buyer,SKU-9,Paper,2,50.00,30.00\n"
    "OLD-2,12/30/2017,SS-2,Later Buyer,SKU-9,Paper,1,80.00,50.00\n"
    "OLD-3,6/15/2017,SS-1,Old Buyer,SKU-9,Paper,1,20.00,10.00\n"
)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(t, name, **kw):
    return reverse(name, kwargs={"tenant": t.slug, **kw})


def current(distributor):
    with scopes_disabled():
        return StratificationProfile.objects.get(distributor=distributor).current_run


@pytest.fixture
def with_run(tenant_a, run_import, django_capture_on_commit_callbacks):
    """Tenant A with LINES (2024) imported and a published run as of their last date."""
    assert run_import(tenant_a, "invoice_lines", LINES).status == Job.Status.SUCCEEDED
    with django_capture_on_commit_callbacks(execute=True):
        login(tenant_a.manager).post(url(tenant_a, "run-request"))
    run = current(tenant_a.distributor)
    assert run is not None and run.as_of == date(2024, 2, 10)
    return tenant_a


def test_the_model_page_offers_a_run_as_of_the_latest_invoice_date(with_run):
    html = login(with_run.manager).get(url(with_run, "model-settings")).content.decode()
    form = re.search(r'<form[^>]*id="run-form".*?</form>', html, re.S)
    assert form, html
    assert 'name="as_of"' in form.group(0) and 'value="2024-02-10"' in form.group(0)
    assert 'name="window_days"' in form.group(0) and 'value="365"' in form.group(0)
    assert 'value="preview"' in form.group(0) and 'value="publish"' in form.group(0)


@pytest.mark.parametrize("action, published", [("publish", True), ("preview", False)])
def test_a_run_as_of_a_chosen_date_and_window(with_run, django_capture_on_commit_callbacks, action, published):
    with django_capture_on_commit_callbacks(execute=True):
        response = login(with_run.manager).post(
            url(with_run, "run-request"), {"as_of": "2024-01-31", "window_days": "30", "action": action}
        )
    assert response.status_code == 302
    with scopes_disabled():
        run = StratificationRun.objects.filter(distributor=with_run.distributor).order_by("-pk").first()
        assert run.status == StratificationRun.Status.SUCCEEDED, run.message
        assert run.as_of == date(2024, 1, 31) and run.settings["window_days"] == 30
        assert run.publish_requested is published and (run.published_at is not None) is published
        assert run.scores.exclude(segment="lapsed").count() == 1  # only C-100 bought in January 2024
    assert response["Location"] == url(with_run, "run-detail", run_id=run.number)


@pytest.mark.parametrize("data", [{"as_of": "31/01/2024"}, {"as_of": "2024-01-31", "window_days": "3"}])
def test_a_bad_as_of_or_window_queues_nothing(with_run, data):
    with scopes_disabled():
        before = StratificationRun.objects.filter(distributor=with_run.distributor).count()
    response = login(with_run.manager).post(url(with_run, "run-request"), {**data, "action": "publish"}, follow=True)
    assert response.status_code == 200
    with scopes_disabled():
        assert StratificationRun.objects.filter(distributor=with_run.distributor).count() == before
    assert any(m.level_tag == "error" for m in response.context["messages"])


def test_an_import_outside_the_window_says_so_and_offers_a_run_as_of_its_last_date(
    with_run, run_import, django_capture_on_commit_callbacks
):
    job = run_import(with_run, "invoice_lines", OLD_LINES, date_format="%m/%d/%Y")
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert (job.result["first_date"], job.result["last_date"]) == ("2014-01-03", "2017-12-30")
    client = login(with_run.manager)
    html = client.get(url(with_run, "import-detail", pk=job.number)).content.decode()
    warning = re.search(r'<div class="alert alert-warning" id="outside-window".*?</div>', html, re.S)
    assert warning, html
    text = warning.group(0)
    # dates in <time datetime=...> (the displayed format is the locale's)
    assert all(f'datetime="{d}"' in text for d in ("2014-01-03", "2017-12-30", "2023-02-11", "2024-02-10"))
    assert 'name="as_of" value="2017-12-30"' in text and url(with_run, "run-request") in text
    assert "create_tenant" in text  # or a tenant of its own
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(with_run, "run-request"), {"as_of": "2017-12-30", "window_days": "365", "action": "publish"})
    run = current(with_run.distributor)
    assert run.as_of == date(2017, 12, 30)
    with scopes_disabled():
        ranked = set(run.scores.exclude(segment="lapsed").values_list("customer__customer_id", flat=True))
    assert ranked == {"SS-1", "SS-2"}
    # now inside the published window: no warning
    html = client.get(url(with_run, "import-detail", pk=job.number)).content.decode()
    assert 'id="outside-window"' not in html


def test_an_import_inside_the_window_has_no_warning(with_run, run_import):
    job = run_import(with_run, "invoice_lines", LINES.replace("INV-2,2024-02-10", "INV-3,2024-02-01"))
    html = login(with_run.manager).get(url(with_run, "import-detail", pk=job.number)).content.decode()
    assert 'id="outside-window"' not in html


def test_a_customer_with_lines_but_no_score_says_why(with_run, run_import):
    run_import(with_run, "invoice_lines", OLD_LINES, date_format="%m/%d/%Y")
    html = login(with_run.manager).get(url(with_run, "customer-detail", customer_id="SS-2")).content.decode()
    reason = re.search(r'<p[^>]*id="no-score-reason"[^>]*>(.*?)</p>', html, re.S)
    assert reason, html
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", reason.group(1)))
    assert "No purchase in the run's window" in text.replace("&#x27;", "'")
    # the window and the last purchase
    assert all(f'datetime="{d}"' in reason.group(1) for d in ("2023-02-11", "2024-02-10", "2017-12-30"))
