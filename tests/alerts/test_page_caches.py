"""What pages cache of a tenant's alerts (the dashboard's panels, the open alerts per rep of rep
coaching) is cached until the alerts change: a status change, or a run raising alerts, bumps the
tenant's alerts generation once it commits; a re-assignment changes the open alerts per rep at once."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from alerts import selectors
from alerts.services import alert_set_status
from stratify.cache import ALERTS, tenant_generation
from tests.pages.conftest import login

pytestmark = pytest.mark.django_db


def u(name, tenant, **kw):
    return reverse(name, kwargs={"tenant": tenant.slug, **kw})


def panels(tenant) -> dict:
    context = login(tenant.manager).get(u("dashboard", tenant)).context
    return {
        "total": context["alert_total"],
        "amount": context["alert_amount"],
        "wide": [a.subject for a in context["wide_alerts"]],
        "open": {r["rep"]: r["open"] for r in context["rep_response"]},
    }


def test_dashboard_panels_follow_status_changes(tenant_a, alerts_a, django_capture_on_commit_callbacks):
    before = panels(tenant_a)
    assert before["total"] == 4 and before["wide"] == ["Acme"]
    assert panels(tenant_a) == before  # cached: the same figures
    with django_capture_on_commit_callbacks(execute=True):
        response = login(tenant_a.manager).post(
            u("alert-status", tenant_a, alert_id=alerts_a["wide"].pk), {"status": "done"}
        )
    assert response.status_code in (200, 302)
    after = panels(tenant_a)
    assert after["total"] == 3 and after["wide"] == []
    with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
        alert_set_status(alert=alerts_a["mine"], status="done", actor=tenant_a.rep_user)
    final = panels(tenant_a)
    assert final["total"] == 2 and final["open"][tenant_a.rep.rep_id] == 1


def test_status_change_bumps_the_generation_only_once_committed(tenant_a, alerts_a, django_capture_on_commit_callbacks):
    d = tenant_a.distributor
    first = tenant_generation(d.pk, ALERTS)
    with django_capture_on_commit_callbacks(execute=False) as callbacks, scopes_disabled():
        alert_set_status(alert=alerts_a["other"], status="acknowledged", actor=tenant_a.manager)
    assert tenant_generation(d.pk, ALERTS) == first  # not before the commit
    for callback in callbacks:
        callback()
    assert tenant_generation(d.pk, ALERTS) > first


def test_open_alerts_per_rep_follow_status_and_assignment(tenant_a, alerts_a, django_capture_on_commit_callbacks):
    d = tenant_a.distributor
    rep, other = tenant_a.rep, tenant_a.other_rep

    def read(stamp):
        with scopes_disabled():
            return selectors.open_by_rep(distributor=d, rep_pks=[rep.pk, other.pk], assignment=stamp)

    from insights.benchframe import assignment_stamp

    with scopes_disabled():
        stamp = assignment_stamp(d)
    first = read(stamp)
    assert first[rep.pk]["open"] == 2 and first[other.pk]["open"] == 1
    with scopes_disabled():
        uncached = selectors.open_by_rep(distributor=d, rep_pks=[rep.pk, other.pk])
    assert read(stamp) == first == uncached
    with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
        alert_set_status(alert=alerts_a["other"], status="done", actor=tenant_a.manager)
    assert other.pk not in read(stamp)
    with scopes_disabled():  # the rep's customer moves to the other rep: its two alerts move with it
        customer = tenant_a.assigned_customer
        customer.rep = other
        customer.save()
        stamp = assignment_stamp(d)
    moved = read(stamp)
    assert rep.pk not in moved and moved[other.pk]["open"] == 2


def test_raising_a_runs_alerts_refreshes_the_dashboard(db, django_capture_on_commit_callbacks):
    from tests import factories as f
    from tests.alerts.helpers import AS_OF, catalog, history, publish_run, raise_for
    from tests.alerts.test_life_cycle import PATTERNS
    from tests.segments.helpers import write_lines

    distributor = f.DistributorFactory(slug="cached")
    _, customers, products = catalog(distributor, len(PATTERNS))
    write_lines(distributor, history(customers, products, PATTERNS))
    manager = f.membership(distributor, "manager", username="cached-manager")
    with django_capture_on_commit_callbacks(execute=False):  # its alerts job is not started
        run = publish_run(distributor, as_of=AS_OF)
    url = reverse("dashboard", kwargs={"tenant": distributor.slug})
    assert login(manager).get(url).context["alert_total"] == 0  # cached before the alerts are raised
    with django_capture_on_commit_callbacks(execute=True):
        result = raise_for(run)
    assert login(manager).get(url).context["alert_total"] == result["new"] > 0


def test_a_raise_in_another_process_refreshes_the_dashboard(db):
    """Without a shared cache the worker's bump of the alerts generation stays in its own memory: the
    web process still shows the new run's alerts, since the cache key names the tenant's latest raise."""
    from unittest import mock

    from tests import factories as f
    from tests.alerts.helpers import AS_OF, catalog, history, publish_run, raise_for
    from tests.alerts.test_life_cycle import PATTERNS
    from tests.segments.helpers import write_lines

    distributor = f.DistributorFactory(slug="elsewhere")
    _, customers, products = catalog(distributor, len(PATTERNS))
    write_lines(distributor, history(customers, products, PATTERNS))
    manager = f.membership(distributor, "manager", username="elsewhere-manager")
    run = publish_run(distributor, as_of=AS_OF)
    url = reverse("dashboard", kwargs={"tenant": distributor.slug})
    assert login(manager).get(url).context["alert_total"] == 0  # cached before the alerts are raised
    with mock.patch("alerts.services.tenant_cache_bump"):  # the bump lands in another process's memory
        result = raise_for(run)
    assert login(manager).get(url).context["alert_total"] == result["new"] > 0
