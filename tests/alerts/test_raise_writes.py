"""What the alert job writes when a later run raises the same alerts (alerts.services.alerts_raise):
an alert the run confirms unchanged is not rewritten (only its `last_run` moves; content, status and
history stay as they were), an alert whose words or figures changed is rewritten, and subjects with
characters that COPY escapes are recognised as the same alert in the next run."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from alerts import services
from alerts.models import Alert, AlertStatusChange
from sales.models import Customer, Product
from tests.alerts.helpers import AS_OF, catalog, history, publish_run, raise_for
from tests.alerts.test_life_cycle import PATTERNS
from tests.factories import DistributorFactory
from tests.segments.helpers import write_lines

CONTENT = ("severity", "amount", "figures", "message", "segment", "rep_id", "digest", "status", "raised_run_id",
           "status_changed_at", "created_at", "dismissed_figures")  # fmt: skip


def rows(distributor) -> dict:
    with scopes_disabled():
        return {a["pk"]: a for a in Alert.objects.filter(distributor=distributor).values("pk", "last_run_id", *CONTENT)}


@pytest.fixture
def tenant(db):
    distributor = DistributorFactory(slug="writes")
    _, customers, products = catalog(distributor, len(PATTERNS))
    write_lines(distributor, history(customers, products, PATTERNS))
    return distributor


@pytest.fixture
def written(monkeypatch):
    """What each raise handed to the writer: {"creates": [...], "updates": [...]} per call."""
    calls = []
    real = services.write_alerts

    def spy(**kwargs):
        calls.append({"creates": list(kwargs["creates"]), "updates": list(kwargs["updates"])})
        return real(**kwargs)

    monkeypatch.setattr(services, "write_alerts", spy)
    return calls


def test_an_unchanged_alert_is_not_rewritten(tenant, written):
    run1 = publish_run(tenant, as_of=AS_OF)
    first = raise_for(run1)
    assert first["new"] == len(written[0]["creates"]) > 5 and written[0]["updates"] == []
    before = rows(tenant)
    assert all(len(row["digest"]) == 32 for row in before.values())
    with scopes_disabled():
        history_before = list(AlertStatusChange.objects.filter(distributor=tenant).values_list("pk", flat=True))

    # The same lines and as_of: every alert is raised again with the same content.
    run2 = publish_run(tenant, as_of=AS_OF)
    second = raise_for(run2)
    assert second["new"] == 0 and second["unchanged"] == second["kept"] == len(before), second
    assert written[1] == {"creates": [], "updates": []}  # nothing rewritten
    after = rows(tenant)
    assert set(after) == set(before)
    for pk, row in after.items():
        assert row["last_run_id"] == run2.pk  # confirmed by the new run
        assert {k: row[k] for k in CONTENT} == {k: before[pk][k] for k in CONTENT}
        assert row["raised_run_id"] == run1.pk
    with scopes_disabled():
        assert list(AlertStatusChange.objects.filter(distributor=tenant).values_list("pk", flat=True)) == history_before


def test_a_changed_alert_is_rewritten_and_the_others_are_not(tenant, written):
    raise_for(publish_run(tenant, as_of=AS_OF))
    before = rows(tenant)
    with scopes_disabled():
        renamed = Alert.objects.filter(distributor=tenant, customer__isnull=False).order_by("pk").first().customer
        Customer.objects.filter(pk=renamed.pk).update(name="Renamed Ltd")
        theirs = {pk for (pk,) in Alert.objects.filter(distributor=tenant, customer=renamed).values_list("pk")}
    run2 = publish_run(tenant, as_of=AS_OF)
    result = raise_for(run2)
    assert {row[0] for row in written[1]["updates"]} == theirs  # only the renamed customer's alerts
    assert result["unchanged"] == len(before) - len(theirs)
    after = rows(tenant)
    for pk, row in after.items():
        assert row["last_run_id"] == run2.pk and row["status"] == "open"
        if pk in theirs:
            assert f"Renamed Ltd ({renamed.customer_id})" in row["message"] and row["digest"] != before[pk]["digest"]
        else:
            assert row["message"] == before[pk]["message"] and row["digest"] == before[pk]["digest"]


def test_subjects_with_escaped_characters_are_the_same_alert_next_run(tenant):
    with scopes_disabled():
        Product.objects.filter(distributor=tenant, category="Fasteners").update(category="Fast\\eners\tand more")
    raise_for(publish_run(tenant, as_of=AS_OF))
    with scopes_disabled():
        odd = set(
            Alert.objects.filter(distributor=tenant, subject="Fast\\eners\tand more").values_list("pk", "message")
        )
    assert odd, "the odd category is a subject in this history"
    result = raise_for(publish_run(tenant, as_of=AS_OF))
    assert result["new"] == 0 and result["cleared"] == 0 and result["unchanged"] == result["kept"]
    with scopes_disabled():
        again = set(
            Alert.objects.filter(distributor=tenant, subject="Fast\\eners\tand more").values_list("pk", "message")
        )
    assert again == odd
