"""Re-stratification after an import, when the manager asks for it (issue 4, item 6)."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scopes_disabled

from segments.models import StratificationProfile, StratificationRun
from tests.conftest import api_as
from tests.imports.test_api_and_pages import upload
from tests.imports.test_pipeline import LINES

pytestmark = pytest.mark.django_db


def published_run(distributor):
    with scopes_disabled():
        profile = StratificationProfile.objects.filter(distributor=distributor).first()
        return profile.current_run if profile else None


@pytest.mark.parametrize("restratify", [True, False])
def test_api_import_with_restratify_publishes_a_run(tenant_a, django_capture_on_commit_callbacks, restratify):
    client = api_as(tenant_a.manager)
    url = reverse("api-import-list", kwargs={"tenant": tenant_a.slug})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"kind": "invoice_lines", "file": upload(LINES), "restratify": "true" if restratify else "false"}
        )
    assert response.status_code == 202, response.content
    detail = client.get(reverse("api-import-detail", kwargs={"tenant": tenant_a.slug, "pk": response.json()["id"]}))
    assert detail.json()["status"] == "succeeded"
    run = published_run(tenant_a.distributor)
    if restratify:
        assert run is not None and run.status == StratificationRun.Status.SUCCEEDED
        with scopes_disabled():
            assert run.scores.count() > 0
    else:
        assert run is None


def test_import_command_with_restratify_publishes_a_run(tenant_a, write_file, capsys):
    path = write_file(LINES, "lines.csv")
    call_command("import_data", tenant_a.slug, "invoice_lines", str(path), "--restratify")
    run = published_run(tenant_a.distributor)
    assert run is not None and run.published_at is not None
    assert "core" in capsys.readouterr().out


def test_restratify_is_ignored_for_other_kinds(tenant_a, write_file):
    path = write_file("product_id,category\nX1,Pipe\n", "products.csv")
    call_command("import_data", tenant_a.slug, "products", str(path), "--restratify")
    assert published_run(tenant_a.distributor) is None
