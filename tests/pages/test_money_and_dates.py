"""Issue 11, item 2: every page that shows an amount shows it in the tenant's currency, and every date
in the tenant's one date format. A tenant in EUR with a de_DE locale walks every page: each amount is
written "1.234 €", no amount appears bare or in another locale's spelling, and no date appears as
"30 Jun 2026", "2026-06-30" or "June 30, 2026, 7:05 a.m."."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from stratify.jobs.services import job_enqueue

from .conftest import add_sales, login, make_run

pytestmark = pytest.mark.django_db

# A de_DE amount: 1.234 or 1.234,56 (grouped), then a no-break space and the euro sign.
DE_AMOUNT = r"-?\d{1,3}(?:\.\d{3})*(?:,\d+)?"
EN_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d])")  # 10,000 or 10,000.00
OTHER_DATES = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4}\b|"
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z.]* \d{1,2}, \d{4}\b|[ap]\.m\."
)


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"[ \t\r\n]+", " ", html.replace("&nbsp;", "\xa0"))


@pytest.fixture
def euro(tenant_a):
    d = tenant_a.distributor
    d.currency, d.locale = "EUR", "de_DE"
    d.save()
    add_sales(d, tenant_a.assigned_customer, categories=("Pipe", "Valves"), months=4)
    make_run(d, {tenant_a.assigned_customer: {"segment": "marginal"}})
    run = make_run(
        d,
        {
            tenant_a.assigned_customer: {"segment": "core", "previous_segment": "marginal", "revenue": 12345.67},
            tenant_a.unassigned_customer: {"segment": "service_drain", "net_profit": -1800.0},
        },
    )
    with scope(distributor=d):
        job_enqueue(distributor=d, kind="import", params={"filename": "lines.csv"}, dispatch=False)
    return run


def pages(tenant, run):
    t, c = tenant.slug, tenant.assigned_customer.customer_id
    return [
        (tenant.manager, reverse("dashboard", kwargs={"tenant": t})),
        (tenant.rep_user, reverse("my-customers", kwargs={"tenant": t})),
        (tenant.manager, reverse("my-customers", kwargs={"tenant": t})),
        (tenant.rep_user, reverse("customer-detail", kwargs={"tenant": t, "customer_id": c})),
        (tenant.rep_user, reverse("customer-review", kwargs={"tenant": t, "customer_id": c})),
        (tenant.customer_user, reverse("scorecard", kwargs={"tenant": t})),
        (tenant.manager, reverse("customer-scorecard", kwargs={"tenant": t, "customer_id": c})),
        (tenant.manager, reverse("tier-policies", kwargs={"tenant": t})),
        (tenant.manager, reverse("model-settings", kwargs={"tenant": t})),
        (tenant.manager, reverse("run-detail", kwargs={"tenant": t, "run_id": run.number})),
        (tenant.manager, reverse("job-list", kwargs={"tenant": t})),
        (tenant.manager, reverse("import-list", kwargs={"tenant": t})),
        (tenant.manager, reverse("members", kwargs={"tenant": t})),
    ]


def test_every_page_writes_amounts_in_the_tenant_s_currency_and_dates_in_its_format(tenant_a, euro):
    for user, url in pages(tenant_a, euro):
        response = login(user).get(url)
        assert response.status_code == 200, url
        text = visible_text(response.content.decode())
        assert EN_GROUPED.findall(text) == [], url  # no "10,000": nothing bypasses the locale
        assert OTHER_DATES.findall(text) == [], url  # one date format: 30.06.2026
    texts = {url: visible_text(login(user).get(url).content.decode()) for user, url in pages(tenant_a, euro)}
    t, c = tenant_a.slug, tenant_a.assigned_customer.customer_id
    dashboard = texts[reverse("dashboard", kwargs={"tenant": t})]
    assert "30.06.2026" in dashboard
    # The segment table: every amount with the euro sign.
    assert "12.346\xa0€" in dashboard and "-1.800\xa0€" in dashboard
    customers = texts[reverse("my-customers", kwargs={"tenant": t})]
    assert "12.346\xa0€" in customers and "30,0\xa0%" in customers
    detail = texts[reverse("customer-detail", kwargs={"tenant": t, "customer_id": c})]
    assert "12.346\xa0€" in detail and "2.000\xa0€" in detail  # window revenue; a month of the trend table
    scorecard = texts[reverse("scorecard", kwargs={"tenant": t})]
    assert "8.000\xa0€" in scorecard and "50.000\xa0€" in scorecard  # purchases against the target
    assert re.search(rf"over {DE_AMOUNT}\xa0€", texts[reverse("tier-policies", kwargs={"tenant": t})])
    settings_page = texts[reverse("model-settings", kwargs={"tenant": t})]
    assert "Cost-to-serve rates (amounts in EUR)" in settings_page


def test_the_charts_get_the_currency_and_locale(tenant_a, euro):
    c = tenant_a.assigned_customer.customer_id
    html = login(tenant_a.rep_user).get(reverse("customer-detail", kwargs={"tenant": tenant_a.slug, "customer_id": c}))
    assert 'data-currency="EUR" data-locale="de-DE"' in html.content.decode()


def test_the_invitation_e_mail_writes_its_expiry_in_the_tenant_s_format(tenant_a, euro):
    url = reverse("members", kwargs={"tenant": tenant_a.slug})
    response = login(tenant_a.manager).post(url, {"email": "new@example.com", "role": "manager"})
    assert response.status_code in (200, 302)
    assert len(mail.outbox) == 1
    assert re.search(r"expires on \d{2}\.\d{2}\.\d{4}", mail.outbox[0].body)


def test_a_tenant_in_dollars_keeps_dollars(tenant_a):
    make_run(tenant_a.distributor, {tenant_a.assigned_customer: {"segment": "core", "revenue": 12345.67}})
    with scopes_disabled():
        assert tenant_a.distributor.currency == "USD"
    page = login(tenant_a.manager).get(reverse("dashboard", kwargs={"tenant": tenant_a.slug}))
    text = visible_text(page.content.decode())
    assert "$12,346" in text and "Jun 30, 2026" in text
