"""Free-text fields of interactions and partners are bounded (a 50 MB summary once made a customer page
52 MB and 11 s): the model, the form on the customer page, the API serializer and the import all refuse
more than TEXT_MAX_CHARS characters with a clear message, and a refused form does not echo the value."""

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from channels.forms import InteractionForm
from channels.models import TEXT_MAX_CHARS, Interaction, Partner
from imports.formats import INTERACTIONS, PARTNERS
from stratify.jobs.models import Job
from tests.imports.conftest import media, run_import, table_counts, write_file  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def test_the_limit_is_the_same_in_the_model_and_the_import():
    assert TEXT_MAX_CHARS == 4000
    for name in ("summary", "usage_notes"):
        assert Interaction._meta.get_field(name).max_length == TEXT_MAX_CHARS
        assert INTERACTIONS.column(name).max_length == TEXT_MAX_CHARS
    for name in ("supports_customer", "services", "why_customers_use_it"):
        assert Partner._meta.get_field(name).max_length == TEXT_MAX_CHARS
        assert PARTNERS.column(name).max_length == TEXT_MAX_CHARS


def test_the_form_refuses_a_long_summary():
    form = InteractionForm({"date": "2024-01-02", "kind": "call", "summary": "s" * (TEXT_MAX_CHARS + 1)})
    assert not form.is_valid()
    assert "at most 4000 characters" in form.errors["summary"][0]
    assert 'maxlength="4000"' in str(form["summary"])
    assert InteractionForm({"date": "2024-01-02", "kind": "call", "summary": "s" * TEXT_MAX_CHARS}).is_valid()


def test_a_5_mb_summary_is_refused_on_the_customer_page_without_echoing_it(tenant_a):
    client = Client()
    client.force_login(tenant_a.rep_user)
    url = reverse(
        "interaction-create", kwargs={"tenant": tenant_a.slug, "customer_id": tenant_a.assigned_customer.customer_id}
    )
    response = client.post(url, {"date": "2024-01-02", "kind": "visit", "summary": "s" * (5 * 1024 * 1024)})
    assert response.status_code == 400
    html = response.content.decode()
    assert "at most 4000 characters" in html
    assert len(response.content) < 200_000
    with scopes_disabled():
        assert not Interaction.objects.filter(distributor=tenant_a.distributor, kind="visit").exists()


@pytest.mark.parametrize(
    ("kind", "header", "column"),
    [
        ("interactions", "customer_id,date,kind,summary\nalpha-C1,2024-01-02,call,", "summary"),
        ("interactions", "customer_id,date,usage_notes\nalpha-C1,2024-01-02,", "usage_notes"),
        ("partners", "partner_id,name,services\nPX,Partner X,", "services"),
    ],
)
def test_the_import_refuses_a_long_text(tenant_a, run_import, kind, header, column):  # noqa: F811
    before = table_counts(tenant_a.distributor)
    job = run_import(tenant_a, kind, header + "t" * (TEXT_MAX_CHARS + 1) + "\n")
    assert job.status == Job.Status.FAILED
    assert job.result["errors"][0]["column"] == column
    assert job.result["errors"][0]["reason"] == "longer than 4000 characters"
    assert table_counts(tenant_a.distributor) == before
    assert run_import(tenant_a, kind, header + "t" * TEXT_MAX_CHARS + "\n").status == Job.Status.SUCCEEDED
