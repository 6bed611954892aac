import pytest
from django_scopes import scope, scopes_disabled

from alerts.models import Alert
from segments import services
from stratify.jobs.models import Job
from stratify.jobs.services import job_execute
from tests.factories import DistributorFactory
from tests.segments.helpers import make_catalog, simple_lines, write_lines


@pytest.mark.django_db
def test_smoke(django_capture_on_commit_callbacks):
    d = DistributorFactory(slug="smoke")
    custs, prods = make_catalog(d, customers=30, products=8)
    write_lines(d, simple_lines(custs, prods))
    with scope(distributor=d):
        run = services.run_request(distributor=d, dispatch=False, publish=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job_execute(run.job_id)
    for callback in callbacks:
        callback()
    with scopes_disabled():
        job = Job.objects.get(distributor=d, kind="raise_alerts")
    job_execute(job.pk)
    with scopes_disabled():
        job.refresh_from_db()
        print(job.status, job.message, job.result)
        assert job.status == "succeeded", job.message
        for a in Alert.objects.filter(distributor=d):
            print(a.kind, a.subject, a.amount, a.message)
