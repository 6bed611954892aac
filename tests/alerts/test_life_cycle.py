# ruff: noqa: E501  (tabular hand-made data reads best one row per line)
"""The life of an alert across three published runs (INSIGHTS.md): the same (kind, subject) is the
same alert, kept open; acknowledged stays acknowledged; a dismissed one stays quiet while its figures
stay within 10%, and comes back when they move further; one no longer raised is closed; re-raising a
run changes nothing. Also: the publish enqueues the job after it commits and never fails because of it,
and the status changes people may make."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_scopes import scope, scopes_disabled

from alerts.models import Alert, AlertRaise, AlertStatusChange
from alerts.services import AlertError, alert_set_status, alerts_raise
from segments import services
from segments.models import StratificationRun
from stratify.jobs.models import Job
from stratify.jobs.services import job_execute
from tests import factories as f
from tests.alerts.helpers import AS_OF, catalog, history, publish_run, raise_for
from tests.factories import DistributorFactory
from tests.segments.helpers import write_lines

PATTERNS = [
    {"cadence": [7, 14, 21, 30][i % 4], "start": [0, 3, 40, 100, 200][i % 5], "products": [[0, 2], [1, 3, 4], [2, 5]][i % 3],
     "base": 50 + 37 * i, "recent_factor": ["1", "0.5", "0.2"][i % 3], "drop_product": -1, "returns": False,
     "horizon": 700}
    for i in range(16)
]  # fmt: skip


def snapshot(distributor):
    with scopes_disabled():
        return {
            (a.kind, a.key): (a.status, a.last_run_id, a.raised_run_id, str(a.amount), a.figures)
            for a in Alert.objects.filter(distributor=distributor)
        }


@pytest.fixture
def tenant(db):
    distributor = DistributorFactory(slug="life")
    _, customers, products = catalog(distributor, len(PATTERNS))
    write_lines(distributor, history(customers, products, PATTERNS))
    manager = f.membership(distributor, "manager", username="life-manager")
    return distributor, manager


def test_three_runs(tenant):
    distributor, manager = tenant
    with scopes_disabled():
        membership = manager.memberships.get(distributor=distributor)
    run1 = publish_run(distributor, as_of=AS_OF)
    result1 = raise_for(run1)
    assert result1["new"] == sum(result1["counts"].values()) > 5
    with scopes_disabled():
        alerts = list(Alert.objects.filter(distributor=distributor, kind="overdue").order_by("-amount"))
        assert len(alerts) >= 3, [a.kind for a in Alert.objects.filter(distributor=distributor)]
        acked, dismissed, done = alerts[0], alerts[1], alerts[2]
        alert_set_status(alert=acked, status="acknowledged", actor=manager, membership=membership)
        alert_set_status(alert=dismissed, status="dismissed", note="Customer on holiday", actor=manager,
                         membership=membership)  # fmt: skip
        alert_set_status(alert=done, status="done", note="Called", actor=manager, membership=membership)

    # Run 2: the same data and as_of, so the same alerts with the same figures.
    run2 = publish_run(distributor, as_of=AS_OF)
    result2 = raise_for(run2)
    assert result2["new"] == 0 and result2["quiet"] == 1 and result2["reopened"] == 1, result2
    after2 = snapshot(distributor)
    with scopes_disabled():
        for alert in Alert.objects.filter(distributor=distributor):
            if alert.pk == dismissed.pk:
                assert alert.status == "dismissed" and alert.last_run_id == run1.pk  # quiet
            elif alert.pk == acked.pk:
                assert alert.status == "acknowledged" and alert.last_run_id == run2.pk
                assert alert.raised_run_id == run1.pk  # the same alert, not a new one
            elif alert.pk == done.pk:
                assert alert.status == "open" and alert.last_run_id == run2.pk  # raised again
            else:
                assert alert.status == "open" and alert.last_run_id == run2.pk and alert.raised_run_id == run1.pk
    # Re-running the job for the same run changes nothing.
    with scopes_disabled():
        changes = AlertStatusChange.objects.filter(distributor=distributor).count()
    again = raise_for(run2)
    assert again.get("already") is True
    with scopes_disabled():  # and its job says so, rather than repeating the first one's count
        message = Job.objects.filter(distributor=distributor, kind="raise_alerts").latest("pk").message
    assert message.startswith(f"Run #{run2.number}: its ") and "already raised; nothing changed" in message
    assert snapshot(distributor) == after2
    with scopes_disabled():
        assert AlertStatusChange.objects.filter(distributor=distributor).count() == changes
        assert AlertRaise.objects.filter(distributor=distributor).count() == 2

    # Run 3, 45 days later with no new orders: overdue days grow beyond 10% (the dismissed one comes
    # back); alerts the run no longer raises are closed by the job.
    run3 = publish_run(distributor, as_of=AS_OF + timedelta(days=45))
    result3 = raise_for(run3)
    with scopes_disabled():
        dismissed.refresh_from_db()
        assert dismissed.status == "open" and dismissed.raised_run_id == run3.pk
        last = AlertStatusChange.objects.filter(alert=dismissed).order_by("-id").first()
        assert last.changed_by is None and "moved more than 10%" in last.note
        raised3 = {(a.kind, a.key) for a in Alert.objects.filter(distributor=distributor, last_run=run3)}
        cleared = [
            a for a in Alert.objects.filter(distributor=distributor).exclude(last_run=run3)
            if after2[(a.kind, a.key)][0] in ("open", "acknowledged")
        ]  # fmt: skip
        assert result3["cleared"] == len(cleared) > 0
        for alert in cleared:
            assert alert.status == "done" and (alert.kind, alert.key) not in raised3
            assert AlertStatusChange.objects.filter(alert=alert, note__startswith="Closed: run #").exists()
    # An older run raised after a newer one changes nothing.
    with scopes_disabled():
        assert alerts_raise(distributor=distributor, run=run1)["already"] is True


def test_status_changes_people_may_make(tenant):
    distributor, manager = tenant
    with scopes_disabled():
        rep = f.RepFactory(distributor=distributor, rep_id="RX")
        rep_user = f.membership(distributor, "rep", username="life-rep", rep=rep)
        rep_m = rep_user.memberships.get(distributor=distributor)
        manager_m = manager.memberships.get(distributor=distributor)
    raise_for(publish_run(distributor, as_of=AS_OF))
    with scopes_disabled():
        alert = Alert.objects.filter(distributor=distributor).first()
        with pytest.raises(AlertError, match="needs a note"):
            alert_set_status(alert=alert, status="dismissed", note="  ", membership=rep_m)
        alert_set_status(alert=alert, status="done", membership=rep_m, actor=rep_user)
        with pytest.raises(AlertError, match="Only a manager can reopen"):
            alert_set_status(alert=alert, status="open", membership=rep_m)
        with pytest.raises(AlertError, match="already done"):
            alert_set_status(alert=alert, status="done", membership=rep_m)
        with pytest.raises(AlertError, match="cannot become dismissed"):
            alert_set_status(alert=alert, status="dismissed", note="x", membership=rep_m)
        alert_set_status(alert=alert, status="open", membership=manager_m, actor=manager)
        history = list(
            AlertStatusChange.objects.filter(alert=alert).values_list("from_status", "to_status", "changed_by")
        )
        assert history == [("open", "done", rep_user.pk), ("done", "open", manager.pk)]


def test_publish_enqueues_the_alert_job_after_commit_and_never_fails_because_of_it(
    tenant, django_capture_on_commit_callbacks, monkeypatch
):
    distributor, _ = tenant
    with scope(distributor=distributor):
        run = services.run_request(distributor=distributor, dispatch=False, publish=True, as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job_execute(run.job_id)
    with scopes_disabled():
        assert not Job.objects.filter(distributor=distributor, kind="raise_alerts").exists()  # not before commit
    for callback in callbacks:
        callback()
    with scopes_disabled():
        job = Job.objects.get(distributor=distributor, kind="raise_alerts")
        assert job.params == {"run": run.number}
    # An error while enqueuing is logged; the run stays published.
    import segments.services.publish as publish

    def broken(**kwargs):
        raise RuntimeError("queue down")

    monkeypatch.setattr(publish, "job_enqueue", broken)
    with scope(distributor=distributor):
        run2 = services.run_request(distributor=distributor, dispatch=False, publish=True, as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=True):
        job_execute(run2.job_id)
    with scopes_disabled():
        run2.refresh_from_db()
        assert run2.status == StratificationRun.Status.SUCCEEDED and run2.published_at is not None
