"""Issue 9: one home per concern. What the layout promises, checked: the import layers (also run by
`make lint`), the segment vocabulary defined once, one list-page base with exports, one
lookup-or-404 per kind of object, re-stratification asked by job."""

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from django_scopes import scope
from openpyxl import load_workbook

from segments.vocabulary import SEGMENT_COLORS, SEGMENT_LABELS, SEGMENT_ORDER
from stratify.jobs.services import job_enqueue
from tests.pages.conftest import login

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_badge_colours_in_the_stylesheet_are_the_vocabulary_s():
    css = (ROOT / "static/css/stratify.css").read_text()
    found = dict(re.findall(r"\.segment-(\w+) \{ --seg: (#[0-9a-f]{6}); \}", css))
    assert found == SEGMENT_COLORS
    assert set(SEGMENT_ORDER) == set(SEGMENT_LABELS) == set(SEGMENT_COLORS)


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.django_db
def test_jobs_list_exports_the_tenant_s_jobs_only(tenant_a, tenant_b):
    with scope(distributor=tenant_a.distributor):
        mine = job_enqueue(distributor=tenant_a.distributor, kind="import", dispatch=False)
    with scope(distributor=tenant_b.distributor):
        theirs = job_enqueue(distributor=tenant_b.distributor, kind="import", dispatch=False)
    url = reverse("job-list", kwargs={"tenant": tenant_a.slug})
    rows = _csv(login(tenant_a.manager).get(url, {"export": "csv"}))
    assert rows[0] == ["#", "Kind", "Status", "Progress", "Started", "Message"]
    assert [r[0] for r in rows[1:]] == [str(mine.number)]
    assert len(rows) == 2 and theirs.distributor_id != mine.distributor_id  # B's job is not listed
    xlsx = login(tenant_a.manager).get(url, {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]] == rows[0] and sheet.max_row == 2
    page = login(tenant_a.manager).get(url)
    assert f'href="/{tenant_a.slug}/jobs/{mine.number}/"' in page.content.decode()


@pytest.mark.django_db
def test_rep_assignment_exports_what_the_filter_keeps(tenant_a):
    url = reverse("rep-assignment", kwargs={"tenant": tenant_a.slug})
    rows = _csv(login(tenant_a.manager).get(url, {"rep": tenant_a.rep.rep_id, "export": "csv"}))
    assert rows[0] == ["Account", "Customer", "Branch", "Rep"]
    assert [r[0] for r in rows[1:]] == ["alpha-C1"] and rows[1][3] == tenant_a.rep.rep_id


@pytest.mark.django_db
def test_a_role_without_the_right_gets_403_before_any_lookup(tenant_a):
    # The role check comes first: a rep learns nothing of which runs exist.
    for run_id in (1, 999999):
        url = reverse("run-detail", kwargs={"tenant": tenant_a.slug, "run_id": run_id})
        assert login(tenant_a.rep_user).get(url).status_code == 403
    assert (
        login(tenant_a.manager)
        .get(reverse("run-detail", kwargs={"tenant": tenant_a.slug, "run_id": 999999}))
        .status_code
        == 404
    )


def test_imports_code_never_names_the_stratification_code():
    for path in (ROOT / "imports").rglob("*.py"):
        assert not re.search(r"^\s*(from|import) segments", path.read_text(), flags=re.M), path
