"""Issue 10: the whole OpenAPI schema fuzzed by schemathesis, as a manager and as a rep of a real
tenant (the `tenant` path parameter is pinned to it, so requests reach the handlers rather than a
404), a bounded number of examples per operation: no answer is a 5xx.

Runs in both passes of `make test`. `SCHEMATHESIS_EXAMPLES` raises the bound for a longer hunt."""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token

from stratify.wsgi import application

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "15"))


@pytest.fixture
def wsgi_in_test_transaction(db):
    """Requests go through the real WSGI handler, which closes the connection when a request ends:
    kept open here (as Django's test client does), so they run in the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_no_operation_answers_a_server_error(wsgi_in_test_transaction, tenant_a, tenant_b):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_in_test_transaction)
    keys = {
        "manager": Token.objects.create(user=tenant_a.manager).key,
        "rep": Token.objects.create(user=tenant_a.rep_user).key,
    }
    failures: list[str] = []
    calls = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25  # the whole API, not a fraction of it

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case):
            if "tenant" in (case.path_parameters or {}):
                case.path_parameters["tenant"] = tenant_a.slug
            for role, key in keys.items():
                response = case.call(headers={"Authorization": f"Token {key}"})
                calls.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(
                        f"{role}: {case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
                    )

        check()
    assert not failures, "\n".join(failures[:20])
    assert len(calls) >= 2 * len(operations) and any(200 <= code < 300 for code in calls)
