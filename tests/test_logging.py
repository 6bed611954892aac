"""Issue 11, item 7: an expected 403 or 404 logs one warning line, not a traceback; a 500 keeps it."""

import logging
import sys

import pytest

from stratify.log_filters import QuietClientErrors

pytestmark = pytest.mark.django_db


def request_records(caplog):
    return [r for r in caplog.records if r.name == "django.request"]


def test_a_404_and_a_403_log_a_line_without_a_traceback(client, tenant_a, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    client.force_login(tenant_a.rep_user)
    assert client.get(f"/{tenant_a.slug}/customers/{tenant_a.unassigned_customer.customer_id}/").status_code == 404
    assert client.get(f"/{tenant_a.slug}/dashboard/").status_code == 403
    assert client.get("/no-such-tenant/dashboard/").status_code == 404
    records = request_records(caplog)
    assert [r.status_code for r in records] == [404, 403, 404]
    for record in records:
        assert record.levelno == logging.WARNING and record.exc_info is None
        assert "Traceback" not in logging.Formatter().format(record)
    assert "Traceback" not in caplog.text


def test_a_server_error_keeps_its_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        error = sys.exc_info()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error", (), error)
    record.status_code = 500
    assert QuietClientErrors().filter(record) and record.exc_info is not None
    assert "Traceback" in logging.Formatter().format(record)
