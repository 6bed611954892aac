"""`manage.py stratify` and `manage.py export_scores`."""

from __future__ import annotations

import csv
import io
import re
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_scopes import scope, scopes_disabled

from segments.models import CustomerScore, StratificationProfile, StratificationRun
from segments.vocabulary import SEGMENT_LABELS, SEGMENT_ORDER
from stratify.engine import FACTORS
from tests.segments.helpers import make_catalog, simple_lines, write_lines


@pytest.fixture
def loaded(tenant_a):
    customers, products = make_catalog(tenant_a.distributor)
    rows = simple_lines(customers, products)
    rows[0]["customer"].customer_id = "=HYPERLINK(1)"  # an account number that looks like a formula
    with scopes_disabled():
        rows[0]["customer"].save()
    write_lines(tenant_a.distributor, rows)
    return tenant_a


def test_stratify_command_publishes_and_prints_counts(loaded):
    out = io.StringIO()
    call_command("stratify", loaded.slug, "--publish", "--as-of", "2026-06-30", stdout=out)
    text = out.getvalue()
    assert "%]" in text  # progress lines
    assert "Published." in text
    with scopes_disabled():
        run = StratificationRun.objects.get()
        assert StratificationProfile.objects.get(distributor=loaded.distributor).current_run == run
    for segment in ("core", "service_drain", "opportunistic", "marginal", "lapsed"):
        line = next(line for line in text.splitlines() if line.strip().startswith(segment))
        assert int(line.split()[1]) == run.totals[segment]["count"]


def test_stratify_command_fails_non_zero(tenant_a, tenant_b):
    with pytest.raises(CommandError, match="no invoice lines"):
        call_command("stratify", tenant_b.slug, stdout=io.StringIO())
    with pytest.raises(CommandError, match="No distributor"):
        call_command("stratify", "nope", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Invalid settings"):
        call_command("stratify", tenant_a.slug, "--setting", "window_days=0", stdout=io.StringIO())


def test_export_scores_columns_and_rows(loaded, tmp_path):
    call_command("stratify", loaded.slug, stdout=io.StringIO())
    with pytest.raises(CommandError, match="No published run"):
        call_command("export_scores", loaded.slug, "latest", str(tmp_path / "x.csv"), stdout=io.StringIO())
    with scopes_disabled():
        run = StratificationRun.objects.get()
    path = tmp_path / "scores.csv"
    call_command("export_scores", loaded.slug, str(run.number), str(path), stdout=io.StringIO())
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    # Issue 11, item 3: headers for a person (money names the currency, ratios are percentages).
    assert rows[0] == [
        "Account",
        "Customer",
        "Segment",
        "Previous segment",
        "Value score",
        "Profit score",
        "Value rank",
        "Profit rank",
        "Revenue (USD)",
        "Growth %",
        "Orders",
        "Products",
        "Categories",
        "Active months",
        "Tenure (days)",
        "Days since last order",
        "Gross margin (USD)",
        "Gross margin %",
        "Cost to serve (USD)",
        "Net profit (USD)",
        "Net margin %",
        "Share of wallet %",
    ]
    assert len(rows[0]) == len(FACTORS) + 8
    with scopes_disabled():
        assert len(rows) - 1 == CustomerScore.objects.filter(run=run).count() == 12
        by_id = {s.customer.customer_id: s for s in CustomerScore.objects.filter(run=run).select_related("customer")}
    body = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert "'=HYPERLINK(1)" in body  # escaped, never a formula
    some = next(k for k in body if not k.startswith("'"))
    score = by_id[some]
    # Money to the cent, ratios as percentages, segments by their labels.
    assert body[some]["Revenue (USD)"] == f"{Decimal(repr(score.revenue)).quantize(Decimal('0.01'), ROUND_HALF_EVEN)}"
    assert re.fullmatch(r"-?\d+\.\d{2}", body[some]["Net profit (USD)"])
    assert float(body[some]["Gross margin %"]) == pytest.approx(score.gm_pct * 100, abs=0.005)
    assert body[some]["Segment"] == SEGMENT_LABELS[score.segment]
    assert body[some]["Value score"] == f"{score.value_score:.4f}"
    assert all("_" not in r[2] for r in rows[1:])  # never `service_drain`
    call_command("stratify", loaded.slug, "--publish", stdout=io.StringIO())
    latest = tmp_path / "latest.csv"
    call_command("export_scores", loaded.slug, "latest", str(latest), stdout=io.StringIO())
    assert latest.read_text().count("\n") == 13
    with pytest.raises(CommandError):
        call_command("export_scores", loaded.slug, "999999", str(latest), stdout=io.StringIO())


def test_cli_summaries_write_money_in_the_tenant_s_currency(loaded, tmp_path):
    """Issue 11, item 2: `stratify` and `export_scores` print amounts with the currency."""
    distributor = loaded.distributor
    distributor.currency, distributor.locale = "EUR", "de_DE"
    distributor.save()
    out = io.StringIO()
    call_command("stratify", loaded.slug, "--publish", "--as-of", "2026-06-30", stdout=out)
    core = next(line for line in out.getvalue().splitlines() if line.strip().startswith("core"))
    with scopes_disabled():
        run = StratificationRun.objects.get()
    revenue = Decimal(run.totals["core"]["revenue"])
    assert f"{revenue:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") + "\xa0€" in core
    assert "as of 30.06.2026" in out.getvalue()
    out = io.StringIO()
    call_command("export_scores", loaded.slug, "latest", str(tmp_path / "s.csv"), stdout=out)
    assert "€" in out.getvalue() and "revenue" in out.getvalue()
    with open(tmp_path / "s.csv", newline="", encoding="utf-8") as handle:
        assert "Revenue (EUR)" in next(csv.reader(handle))


def test_stratify_command_lists_segments_in_the_one_order(loaded):
    """Issue 11, item 7: the CLI summary lists segments like every page (SEGMENT_ORDER)."""
    out = io.StringIO()
    call_command("stratify", loaded.slug, "--as-of", "2026-06-30", stdout=out)
    listed = [line.split()[0] for line in out.getvalue().splitlines() if line.startswith("  ") and "%]" not in line]
    assert [s for s in listed if s in SEGMENT_ORDER] == list(SEGMENT_ORDER)


@pytest.mark.django_db(transaction=True)  # the publication enqueues the alerts on commit, as in production
def test_stratify_command_runs_the_run_s_follow_up_jobs_here(loaded, monkeypatch):
    """No worker: the profit centers, cut tables and alerts the published run queued are computed by
    the command itself, so the exports that read them have them when it ends."""
    from alerts.models import Alert
    from operations.models import RunCutTables
    from segments.models import ProfitCenter
    from stratify.jobs import services as job_services
    from stratify.jobs.models import Job

    sent = []  # no worker: what is handed to the queue stays queued (the tests' eager mode would run it)
    monkeypatch.setattr(job_services, "_send", lambda job_id, *args, **kwargs: sent.append(job_id))
    out = io.StringIO()
    call_command("stratify", loaded.slug, "--publish", "--as-of", "2026-06-30", stdout=out)
    with scopes_disabled():
        run = StratificationRun.objects.get()
        follow_ups = Job.objects.filter(distributor=loaded.distributor, params__run=run.number)
        assert dict(follow_ups.values_list("kind", "status")) == {
            "profit_centers": "succeeded",
            "cut_tables": "succeeded",
            "raise_alerts": "succeeded",
        }
        assert ProfitCenter.objects.filter(run=run).exists()
        assert RunCutTables.objects.filter(run=run).exists()
        assert Alert.objects.filter(distributor=loaded.distributor, raised_run=run).exists()
    assert len(sent) == 3  # the three follow-ups were queued for a worker, and run here instead
    for kind in ("profit_centers", "cut_tables", "raise_alerts"):
        assert re.search(rf"^{kind} \(job #\d+\): done$", out.getvalue(), re.MULTILINE), kind


def test_finished_jobs_say_what_they_did_in_words(tenant_a):
    """A finished run names its segments as the pages do ("Service drain 1"), and its profit-centers
    and cut-tables jobs end on what they made, not on their last step ("Writing the profit centers")."""
    from segments.services import follow_ups_execute, run_request
    from segments.services.profit import PROFIT_JOB_KIND
    from stratify.jobs.registry import CUT_TABLES_JOB_KIND
    from stratify.jobs.services import job_execute
    from tests.segments.helpers import simple_lines, write_lines
    from tests.segments.test_profit_centers import _catalog

    distributor = tenant_a.distributor
    customers, products, _reps, _partner = _catalog(distributor)
    write_lines(distributor, simple_lines(customers, products))
    with scope(distributor=distributor):
        run = run_request(distributor=distributor, dispatch=False, publish=True)
    run_job = job_execute(run.job_id)
    assert run_job.status == "succeeded" and "_" not in run_job.message, run_job.message
    assert run_job.message.startswith(f"Run #{run.number}: ") and "Core " in run_job.message
    with scopes_disabled():
        run.refresh_from_db()
        done = follow_ups_execute(distributor=distributor, run=run, kinds=(PROFIT_JOB_KIND, CUT_TABLES_JOB_KIND))
    messages = {job.kind: job.message for job in done}
    assert messages[PROFIT_JOB_KIND].startswith(f"Run #{run.number}: profit centers ready ("), messages
    assert messages[CUT_TABLES_JOB_KIND].startswith(f"Run #{run.number}: supplier cuts ready ("), messages
