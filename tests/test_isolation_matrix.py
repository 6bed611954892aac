"""Isolation matrix: every URL pattern of the site (pages and API), for every actor, answers what its
rule says and never returns another tenant's data.

HOW TO ADD A ROUTE. Every named URL pattern needs an entry in ROUTE_CASES (the build fails without
one, and fails for an entry whose route is gone). An entry is a `Case`:

    "customer-detail": Case(
        get=STAFF,                                         # GET status per role of tenant A
        kwargs=lambda t: {"customer_id": t.assigned_customer.customer_id},   # URL kwargs (not `tenant`)
        customer_level=True,                               # names one customer (see below)
        writes={"POST": Write({"manager": 302, "rep": 403, "customer": 403}, data=lambda t: {...})},
    ),

- `get`: {"manager": 200, "rep": 403, "customer": 403} (a status or a set of accepted statuses per
  role); for routes outside /<tenant>/ also "anonymous" (else: pages 302 to login, API 401/403).
- `kwargs(t)`: builds the URL kwargs from a `tests.conftest.Tenant` (t.assigned_customer, t.product,
  t.partner, t.rep, t.interaction, ...), and may create rows (see `job_of`) — it is called for A and
  for B. With kwargs, A's users are also sent to A's URL naming *B's* objects: 404 (unless
  `tenant_objects=False`: the kwargs name no row, e.g. a segment name).
- `customer_level=True`: kwargs name `t.assigned_customer`; A's rep and customer user are also sent to
  the same URL naming A's *unassigned* customer: 404.
- `writes`: {"POST"|"PUT"|"PATCH"|"DELETE": Write(status_per_role, data=lambda t: {...})}. Each role
  gets a fresh database; a refused write (any 4xx, and every anonymous or tenant-B request) must leave
  the whole database unchanged (A's manager naming B's objects and, on customer-level routes, A's rep
  naming the unassigned customer are also tried: 404, nothing changed).
- Rarely needed: `prepare(t)` creates rows a route makes on first access (defaults) before a write's
  "nothing changed" snapshot; `shows_target=True` for a link that names its tenant to whoever holds it.

What every route is checked for: anonymous, A's manager / rep / customer user, B's manager / rep /
customer user (on A's URLs: 404); no response body names B's objects when A asks (B's slug, ids,
names), nor A's objects when B asks, nor A's unassigned customer when A's rep or customer user asks.
Skipped, by explicit rule only: SKIPPED_PREFIXES (Django admin: staff only, see tests/accounts)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from tests.conftest import Tenant

# ---- the rules ------------------------------------------------------------------------------------
ROLES = ("manager", "rep", "customer")
MANAGER_ONLY = {"manager": 200, "rep": 403, "customer": 403}
STAFF = {"manager": 200, "rep": 200, "customer": 403}  # manager and rep
EVERYONE = {"manager": 200, "rep": 200, "customer": 200}
CUSTOMER_ONLY = {"manager": 404, "rep": 404, "customer": 200}  # "my own ..." pages of a customer user
NOT_ALLOWED = {"manager": 405, "rep": 405, "customer": 405}  # e.g. GET on a POST-only route
# A job someone else started: managers read every job, a rep only their own (issue 10, item 13).
OTHERS_JOB = {"manager": 200, "rep": 404, "customer": 403}
# A write with an empty body: the manager gets a 400 (bad input changes nothing), others have no right.
EMPTY_WRITE = {"manager": 400, "rep": 403, "customer": 403}
# A write whose empty body is valid (defaults: settings reset, a run with the current settings...).
STARTS_WITH_DEFAULTS = {"manager": 200, "rep": 403, "customer": 403}


@dataclass(frozen=True)
class Write:
    status: dict[str, int | set[int]]
    data: Callable[[Tenant], dict] = lambda t: {}
    json: bool = False  # send the data as JSON (API) instead of a form


@dataclass(frozen=True)
class Case:
    get: dict[str, int | set[int]]
    kwargs: Callable[[Tenant], dict] | None = None
    customer_level: bool = False
    writes: dict[str, Write] = field(default_factory=dict)
    tenant_objects: bool = True  # kwargs name rows of the tenant (False: e.g. a segment name)
    prepare: Callable[[Tenant], object] | None = None  # creates defaults made on first access, before a write
    seed: Callable[[Tenant], object] | None = None  # rows a GET should show to whom it may, and leak to nobody
    shows_target: bool = False  # the page deliberately names its target tenant to whoever holds the link


# Runs, jobs and imports are named by their per-tenant number. A's object is #1 and B's is #2 (after a
# #1 of its own), so A's URL naming B's object asks A for a number A has none of: 404, not A's #1.
NUMBER_OF = {"alpha": 1, "bravo": 2}


def numbered_of(t: Tenant, model, **fields):
    with scopes_disabled():
        rows = model.objects.filter(distributor=t.distributor, **fields)
        while rows.count() < NUMBER_OF.get(t.slug, 1):
            model.objects.create(distributor=t.distributor, **fields)
        return rows.order_by("number").last()


def job_of(t: Tenant):
    from stratify.jobs.models import Job

    return numbered_of(t, Job, kind="import", progress=10)


def run_of(t: Tenant):
    from segments.models import StratificationRun

    return numbered_of(t, StratificationRun, status="succeeded")


def upload_of(t: Tenant) -> dict:
    """An uploaded (not yet imported) file of tenant t, for the import mapping step."""
    from imports.services import upload_save

    return {"upload": upload_save(distributor=t.distributor, uploaded=csv_upload(), kind="customers")[0]}


def csv_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("customers.csv", b"customer_id,name\nC-NEW,New customer\n", content_type="text/csv")


def tier_policies_of(t: Tenant):
    from segments.selectors import policy_list

    with scopes_disabled():
        return policy_list(distributor=t.distributor)


def membership_of(t: Tenant, user):
    from accounts.models import Membership

    with scopes_disabled():
        return Membership.objects.get(distributor=t.distributor, user=user)


def invitation_of(t: Tenant):
    from accounts.models import Invitation

    with scopes_disabled():
        return Invitation.objects.get_or_create(
            distributor=t.distributor, email=f"new@{t.slug}.example", defaults={"role": "manager"}
        )[0]


def reset_link(t: Tenant) -> dict:
    user = t.manager
    return {"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)}


def alert_of(t: Tenant) -> dict:
    """An open alert on t's assigned customer (raised by a run of t), as the URL names it."""
    from alerts.models import Alert

    run = run_of(t)
    customer = t.assigned_customer
    with scopes_disabled():
        alert, _ = Alert.objects.get_or_create(
            distributor=t.distributor,
            kind="overdue",
            key=f"{customer.pk}|customer|{customer.customer_id}",
            defaults={
                "severity": "high", "customer": customer, "subject_type": "customer",
                "subject": customer.customer_id, "rep": customer.rep, "raised_run": run, "last_run": run,
                "amount": 10, "figures": {}, "message": f"{customer.customer_id} is overdue",
            },
        )  # fmt: skip
    return {"alert_id": alert.pk}


def alerts_of(t: Tenant) -> None:
    """Alerts on both customers of t (the rep's and another rep's) and a distributor-wide one."""
    from alerts.models import Alert

    alert_of(t)
    alert_of(dataclasses.replace(t, assigned_customer=t.unassigned_customer))
    run = run_of(t)
    with scopes_disabled():
        Alert.objects.get_or_create(
            distributor=t.distributor, kind="core_slowdown", key=f"|brand|{t.slug}-brand",
            defaults={"severity": "high", "subject_type": "brand", "subject": f"{t.slug}-brand", "raised_run": run,
                      "last_run": run, "amount": 5, "figures": {}, "message": f"Brand {t.slug}-brand slows"},
        )  # fmt: skip


def published_run_of(t: Tenant):
    """A published run scoring both of t's customers (once), for the benchmark pages (issue 16)."""
    from segments.selectors import current_run
    from tests.pages.conftest import make_run

    with scopes_disabled():
        if current_run(t.distributor) is None:
            make_run(t.distributor, {t.assigned_customer: {"segment": "core"}, t.unassigned_customer: {}})


def with_run(kwargs=lambda t: {}):
    """URL kwargs that first publish a run of the tenant (the benchmark pages then show real rows)."""
    return lambda t: (published_run_of(t), kwargs(t))[1]


def scenario_of(t: Tenant) -> dict:
    from operations.models import CutScenario

    with scopes_disabled():
        scenario, _ = CutScenario.objects.get_or_create(
            distributor=t.distributor, name=f"Cut {t.slug}", defaults={"products": [t.product.product_id]}
        )
    return {"scenario_id": scenario.pk}


customer_kw = lambda t: {"customer_id": t.assigned_customer.customer_id}  # noqa: E731
run_kw = lambda t: {"run_id": run_of(t).number}  # noqa: E731
run_pk = lambda t: {"pk": run_of(t).number}  # noqa: E731
ANON_PAGE = {"anonymous": 200}
NO_TENANT_PAGE = {"anonymous": 302, "manager": 200, "rep": 200, "customer": 200}

ROUTE_CASES: dict[str, Case] = {
    # ---- accounts (outside any tenant) ----
    "home": Case(get={"anonymous": 302, "manager": 302, "rep": 302, "customer": 302}),
    "login": Case(get={"anonymous": 200, **EVERYONE}),
    "logout": Case(get={"anonymous": 405, **NOT_ALLOWED}),
    "password_change": Case(get=NO_TENANT_PAGE),
    "password_change_done": Case(get=NO_TENANT_PAGE),
    "password_reset": Case(get={"anonymous": 200, **EVERYONE}),
    "password_reset_done": Case(get={"anonymous": 200, **EVERYONE}),
    # A valid link redirects to the set-password form; logging in (as the matrix does) voids the link: 200 "invalid".
    "password_reset_confirm": Case(get={"anonymous": 302, **dict.fromkeys(ROLES, {200, 302})}, kwargs=reset_link),
    "password_reset_complete": Case(get={"anonymous": 200, **EVERYONE}),
    "invitation-accept": Case(
        get={"anonymous": 200, **EVERYONE}, kwargs=lambda t: {"token": invitation_of(t).token}, shows_target=True
    ),
    # ---- accounts (tenant) ----
    "tenant-home": Case(get={"manager": 302, "rep": 302, "customer": 302}),
    "members": Case(
        get=MANAGER_ONLY,
        writes={
            "POST": Write(
                {"manager": 302, "rep": 403, "customer": 403},
                data=lambda t: {"email": "someone@example.com", "role": "rep", "rep": t.rep.pk},
            )
        },
    ),
    "member-role": Case(
        get=MANAGER_ONLY,
        kwargs=lambda t: {"pk": membership_of(t, t.rep_user).pk},
        writes={
            "POST": Write(
                {"manager": 302, "rep": 403, "customer": 403},
                data=lambda t: {"role": "rep", "rep": t.other_rep.pk},
            )
        },
    ),
    # ---- jobs ----
    "job-list": Case(get=STAFF),
    "job-detail": Case(get=OTHERS_JOB, kwargs=lambda t: {"pk": job_of(t).number}),
    # ---- imports (managers only: Perm.RUN_JOBS) ----
    "import-list": Case(
        get=MANAGER_ONLY,
        writes={
            "POST": Write(
                {"manager": 302, "rep": 403, "customer": 403},
                data=lambda t: {"kind": "customers", "file": csv_upload()},
            )
        },
    ),
    "import-preview": Case(
        get=MANAGER_ONLY,
        kwargs=upload_of,
        writes={
            "POST": Write(
                {"manager": 302, "rep": 403, "customer": 403},
                data=lambda t: {"map_customer_id": "customer_id", "map_name": "name", "date_format": ""},
            )
        },
    ),
    "import-detail": Case(get=MANAGER_ONLY, kwargs=lambda t: {"pk": job_of(t).number}),
    "import-errors-csv": Case(get=MANAGER_ONLY, kwargs=lambda t: {"pk": job_of(t).number}),
    "import-cancel": Case(
        get=NOT_ALLOWED,
        kwargs=lambda t: {"pk": job_of(t).number},
        writes={"POST": Write({"manager": 302, "rep": 403, "customer": 403})},
    ),
    # ---- sales pages ----
    "my-customers": Case(get=STAFF, seed=alerts_of),
    "customer-detail": Case(get=STAFF, kwargs=customer_kw, customer_level=True, seed=alerts_of),
    "customer-review": Case(get=STAFF, kwargs=customer_kw, customer_level=True),
    "rep-assignment": Case(get=MANAGER_ONLY, writes={"POST": Write(EMPTY_WRITE)}),
    # ---- segments pages ----
    "dashboard": Case(get=MANAGER_ONLY, seed=alerts_of),
    "dashboard-quadrant": Case(get=MANAGER_ONLY),
    "profit-centers": Case(get=MANAGER_ONLY),
    # ---- benchmarks (issue 16): with a published run, so the rows are real ----
    "coaching": Case(get=STAFF, kwargs=with_run(), tenant_objects=False),
    "coaching-rep": Case(get=STAFF, kwargs=with_run(lambda t: {"rep_id": t.rep.rep_id})),
    "leakage": Case(get=MANAGER_ONLY, kwargs=with_run(), tenant_objects=False),
    "leakage-customers": Case(get=MANAGER_ONLY, kwargs=with_run(), tenant_objects=False),
    "history": Case(get=MANAGER_ONLY, kwargs=with_run(), tenant_objects=False),
    "benchmark-segments": Case(get=MANAGER_ONLY, kwargs=with_run(), tenant_objects=False),
    "customer-gaps-export": Case(get=STAFF, kwargs=with_run(customer_kw), customer_level=True),
    "model-settings": Case(get=MANAGER_ONLY, writes={"POST": Write(EMPTY_WRITE)}),
    "run-request": Case(get=NOT_ALLOWED, writes={"POST": Write(STARTS_WITH_DEFAULTS | {"manager": 302})}),
    "run-detail": Case(get=MANAGER_ONLY, kwargs=run_kw),
    # The run has finished: the manager is told so on its page (a cancel itself: tests/segments/test_run_cancel.py).
    "run-cancel": Case(
        get=NOT_ALLOWED, kwargs=run_kw, writes={"POST": Write({"manager": 302, "rep": 403, "customer": 403})}
    ),
    "tier-policies": Case(
        get=MANAGER_ONLY,
        writes={"POST": Write({"manager": 302, "rep": 403, "customer": 403}, data=lambda t: {"qualification_end": ""})},
    ),
    # An empty POST changes no target (every tier keeps its values).
    "tier-suggest": Case(
        get=MANAGER_ONLY,
        prepare=tier_policies_of,
        writes={"POST": Write({"manager": 302, "rep": 403, "customer": 403})},
    ),
    "tier-notices-send": Case(
        get=NOT_ALLOWED,
        kwargs=run_kw,
        writes={"POST": Write({"manager": 302, "rep": 403, "customer": 403}, data=lambda t: {"all": "1"})},
    ),
    "tier-policy-edit": Case(
        get=MANAGER_ONLY,
        kwargs=lambda t: {"segment": "core"},
        tenant_objects=False,
        prepare=tier_policies_of,
        writes={"POST": Write(EMPTY_WRITE)},
    ),
    # Staff opening /scorecard/ are sent to their customer list (they use "view as customer").
    "scorecard": Case(get={"manager": 302, "rep": 302, "customer": 200}),
    "scorecard-print": Case(get={"manager": 302, "rep": 302, "customer": 200}),
    "customer-scorecard": Case(get=STAFF, kwargs=customer_kw, customer_level=True),
    # ---- channels pages ----
    "interaction-create": Case(
        get=NOT_ALLOWED,
        kwargs=customer_kw,
        customer_level=True,
        writes={
            "POST": Write(
                {"manager": 302, "rep": 302, "customer": 403},
                data=lambda t: {"date": "2026-01-05", "kind": "call", "summary": "Matrix call"},
            )
        },
    ),
    # Issue 14: the channel map, partners, customer definitions, interaction points (the matrix's
    # tenants have no published run: the pages say so, the map and definition endpoints are 404).
    "channel-map": Case(get=STAFF),
    "partner-list": Case(get=STAFF),
    "partner-detail": Case(
        get=STAFF,
        kwargs=lambda t: {"partner_id": t.partner.partner_id},
        writes={
            "POST": Write(
                {"manager": 302, "rep": 403, "customer": 403},
                data=lambda t: {"name": "Matrix partner", "kind": "reseller", "region": "North"},
            )
        },
    ),
    "customer-definitions": Case(get=STAFF),
    "customer-definition": Case(
        get=STAFF, kwargs=lambda t: {"by": "customer_class", "value": "contractor"}, tenant_objects=False
    ),
    "interaction-list": Case(get=STAFF),
    # ---- API outside a tenant ----
    "api-token": Case(get={"anonymous": 405, **NOT_ALLOWED}),
    "api-tenant-list": Case(get={"anonymous": {401, 403}, **EVERYONE}),
    # Public documentation: the schema names no tenant and no row.
    "api-schema": Case(get={"anonymous": 200, **EVERYONE}),
    "api-docs": Case(get={"anonymous": 200, **EVERYONE}),
    # ---- tenant API ----
    "api-customer-list": Case(get=STAFF),
    "api-customer-detail": Case(get=STAFF, kwargs=customer_kw, customer_level=True),
    "api-customer-scorecard": Case(get=STAFF, kwargs=customer_kw, customer_level=True),
    "api-scorecard": Case(get=CUSTOMER_ONLY),
    "api-tier-policies": Case(get=STAFF, prepare=tier_policies_of, writes={"PUT": Write(EMPTY_WRITE, json=True)}),
    "api-tier-suggestions": Case(get=MANAGER_ONLY),
    "api-rep-list": Case(get=STAFF),
    "api-rep-detail": Case(get=STAFF, kwargs=lambda t: {"rep_id": t.rep.rep_id}),
    "api-product-list": Case(get=STAFF),
    "api-product-detail": Case(get=STAFF, kwargs=lambda t: {"product_id": t.product.product_id}),
    "api-partner-list": Case(get=STAFF),
    "api-partner-detail": Case(get=STAFF, kwargs=lambda t: {"partner_id": t.partner.partner_id}),
    "api-channel-map": Case(get={"manager": 404, "rep": 404, "customer": 403}),
    "api-customer-definitions": Case(get={"manager": 404, "rep": 404, "customer": 403}),
    "api-customer-definition": Case(
        get={"manager": 404, "rep": 404, "customer": 403},
        kwargs=lambda t: {"by": "customer_class", "value": "contractor"},
        tenant_objects=False,
    ),
    "api-interaction-list": Case(get=STAFF),
    "api-interaction-detail": Case(get=STAFF, kwargs=lambda t: {"pk": t.interaction.pk}),
    "api-job-list": Case(get=STAFF),
    "api-job-detail": Case(get=OTHERS_JOB, kwargs=lambda t: {"pk": job_of(t).number}),
    "api-import-list": Case(
        get=MANAGER_ONLY,
        writes={
            "POST": Write(
                {"manager": 202, "rep": 403, "customer": 403},
                data=lambda t: {"kind": "customers", "file": csv_upload()},
            )
        },
    ),
    "api-import-detail": Case(get=MANAGER_ONLY, kwargs=lambda t: {"pk": job_of(t).number}),
    "api-import-errors": Case(get=MANAGER_ONLY, kwargs=lambda t: {"pk": job_of(t).number}),
    "api-import-cancel": Case(
        get=NOT_ALLOWED,
        kwargs=lambda t: {"pk": job_of(t).number},
        writes={"POST": Write({"manager": 200, "rep": 403, "customer": 403})},
    ),
    "api-run-list": Case(get=MANAGER_ONLY, writes={"POST": Write(STARTS_WITH_DEFAULTS | {"manager": 202}, json=True)}),
    "api-run-detail": Case(get=MANAGER_ONLY, kwargs=run_pk),
    "api-run-scores": Case(get=MANAGER_ONLY, kwargs=run_pk),
    "api-run-publish": Case(get=NOT_ALLOWED, kwargs=run_pk, writes={"POST": Write(STARTS_WITH_DEFAULTS, json=True)}),
    "api-run-cancel": Case(
        get=NOT_ALLOWED, kwargs=run_pk, writes={"POST": Write({"manager": 409, "rep": 403, "customer": 403})}
    ),
    "api-run-compare": Case(get=MANAGER_ONLY, kwargs=run_pk),
    "api-run-profit-centers": Case(get=MANAGER_ONLY, kwargs=run_pk),
    "api-model-settings": Case(
        get=MANAGER_ONLY,
        writes={"PUT": Write(STARTS_WITH_DEFAULTS, json=True), "PATCH": Write(STARTS_WITH_DEFAULTS, json=True)},
    ),
    "api-model-settings-history": Case(get=MANAGER_ONLY),
    # ---- alerts (issue 15) ----
    "worklist": Case(get=STAFF, seed=alerts_of),
    "alert-list": Case(get=MANAGER_ONLY, seed=alerts_of),
    "alert-settings": Case(get=MANAGER_ONLY, writes={"POST": Write({"manager": 302, "rep": 403, "customer": 403})}),
    "alert-digest": Case(
        get=NOT_ALLOWED,
        writes={"POST": Write({"manager": 302, "rep": 302, "customer": 403}, data=lambda t: {"weekly_digest": "off"})},
    ),
    "alert-status": Case(
        get=NOT_ALLOWED,
        kwargs=alert_of,
        customer_level=True,
        writes={
            "POST": Write({"manager": 302, "rep": 302, "customer": 403}, data=lambda t: {"status": "acknowledged"})
        },
    ),
    "api-alert-list": Case(get=STAFF, seed=alerts_of),
    "api-alert-settings": Case(get=STAFF, writes={"PATCH": Write(STARTS_WITH_DEFAULTS, json=True)}),
    "api-alert-status": Case(
        get=NOT_ALLOWED,
        kwargs=alert_of,
        customer_level=True,
        writes={
            "POST": Write({"manager": 200, "rep": 200, "customer": 403}, data=lambda t: {"status": "done"}, json=True)
        },
    ),
    "api-coaching-reps": Case(get=STAFF, kwargs=with_run(), tenant_objects=False),
    "api-leakage": Case(get=MANAGER_ONLY, kwargs=with_run(), tenant_objects=False),
    "api-history": Case(get=MANAGER_ONLY, kwargs=with_run(), tenant_objects=False),
    "api-customer-gaps": Case(get=STAFF, kwargs=with_run(customer_kw), customer_level=True),
    # ---- core-first operations (issue 17): managers only; the matrix's tenants have no published run ----
    "ops-cut-impact": Case(
        get=MANAGER_ONLY,
        writes={
            "POST": Write(
                {"manager": 302, "rep": 403, "customer": 403},
                data=lambda t: {"name": "Without SKU1", "product": t.product.product_id},
            )
        },
    ),
    "ops-core-demand": Case(get=MANAGER_ONLY),
    "ops-scarce-stock": Case(get=MANAGER_ONLY),
    "ops-stock": Case(
        get=MANAGER_ONLY,
        writes={"POST": Write({"manager": 302, "rep": 403, "customer": 403}, data=lambda t: {"stock_min_orders": "2"})},
    ),
    "ops-deliveries": Case(get=MANAGER_ONLY, writes={"POST": Write({"manager": 302, "rep": 403, "customer": 403})}),
    "ops-marketing": Case(get=MANAGER_ONLY),
    "api-ops-cut-impact": Case(get={"manager": 400, "rep": 403, "customer": 403}),  # nothing chosen
    "api-ops-scenarios": Case(
        get=MANAGER_ONLY,
        writes={
            "POST": Write(
                {"manager": 201, "rep": 403, "customer": 403},
                data=lambda t: {"name": "Without SKU1", "product": [t.product.product_id]},
                json=True,
            )
        },
    ),
    "api-ops-scenario": Case(
        get=MANAGER_ONLY,
        kwargs=scenario_of,
        writes={"DELETE": Write({"manager": 204, "rep": 403, "customer": 403})},
    ),
    "api-ops-compare": Case(get={"manager": 400, "rep": 403, "customer": 403}),  # no scenarios named
    "api-ops-core-demand": Case(get={"manager": 409, "rep": 403, "customer": 403}),  # no published run
    "api-ops-scarce-stock": Case(get={"manager": 409, "rep": 403, "customer": 403}),
    "api-ops-allocation": Case(get={"manager": 409, "rep": 403, "customer": 403}),
    "api-ops-stock": Case(get={"manager": 409, "rep": 403, "customer": 403}),
    "api-ops-deliveries": Case(get={"manager": 409, "rep": 403, "customer": 403}),
    "api-ops-consolidate": Case(
        get=NOT_ALLOWED, writes={"POST": Write({"manager": 409, "rep": 403, "customer": 403}, json=True)}
    ),
    "api-ops-lookalikes": Case(get={"manager": 409, "rep": 403, "customer": 403}),
    "api-ops-settings": Case(get=MANAGER_ONLY, writes={"PATCH": Write(STARTS_WITH_DEFAULTS, json=True)}),
}

SKIPPED_PREFIXES = {
    "admin/": "Django admin: platform staff only, not tenant-scoped (tests/accounts/test_admin.py)",
}


# ---- walking the URLconf ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    name: str | None
    route: str
    converters: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def in_tenant(self) -> bool:
        return "tenant" in self.converters


def walk(patterns=None, prefix: str = "", converters: tuple[str, ...] = ()):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        names = converters + tuple(getattr(pattern.pattern, "converters", {}))
        if any(route.startswith(skip) for skip in SKIPPED_PREFIXES):
            continue
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route, names)
        elif isinstance(pattern, URLPattern):
            yield Route(pattern.name, route, names)


ROUTES = list(walk())


def test_every_route_has_a_case_and_every_case_a_route():
    unnamed = [r.route for r in ROUTES if not r.name]
    names = [r.name for r in ROUTES if r.name]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    missing = sorted(set(names) - set(ROUTE_CASES))
    stale = sorted(set(ROUTE_CASES) - set(names))
    assert not unnamed, f"URL patterns without a name (the matrix needs one): {unnamed}"
    assert not duplicated, f"URL names used twice: {duplicated}"
    assert not missing, f"Routes without a rule in ROUTE_CASES (tests/test_isolation_matrix.py): {missing}"
    assert not stale, f"ROUTE_CASES entries whose route no longer exists: {stale}"


def test_the_walk_sees_pages_and_api_of_every_app():
    names = {r.name for r in ROUTES}
    assert {"login", "members", "job-detail", "my-customers", "api-customer-detail", "api-job-detail"} <= names
    assert all(r.in_tenant for r in ROUTES if r.route.startswith("api/v1/tenants/<slug:tenant>/"))


# ---- the checks -------------------------------------------------------------------------------------
def forbidden_strings(asker: Tenant, other: Tenant) -> set[str]:
    """What `other` owns that must never reach a user of `asker`."""
    with scopes_disabled():
        strings = {other.slug, other.distributor.name}
        for customer in (other.assigned_customer, other.unassigned_customer):
            strings |= {customer.customer_id, customer.name}
        strings |= {other.rep.rep_id, other.other_rep.rep_id, other.product.product_id, other.partner.partner_id}
        strings |= {other.partner.name, other.interaction.summary, other.other_interaction.summary}
        strings |= {u.username for u in other.users().values()}
    return {s for s in strings if s and len(s) >= 4}


def unassigned_strings(t: Tenant) -> set[str]:
    """A's customer that A's rep is not assigned to (and that is not A's customer user's account)."""
    return {t.unassigned_customer.customer_id, t.unassigned_customer.name, t.other_interaction.summary}


def body_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", errors="replace")


def accepted(expected) -> set[int]:
    return expected if isinstance(expected, set) else {expected}


def anonymous_statuses(route: Route, case: Case) -> set[int]:
    if "anonymous" in case.get:
        return accepted(case.get["anonymous"])
    return {401, 403} if route.is_api else {302}


def refused(expected) -> set[int]:
    """What a role gets for an object it may not see: 404, or 403/405 when the role has no access at all."""
    statuses = accepted(expected)
    return {404} if all(s < 400 for s in statuses) else statuses | {404}


class Matrix:
    def __init__(self, route: Route, case: Case, a: Tenant, b: Tenant):
        self.route, self.case, self.a, self.b = route, case, a, b
        self.errors: list[str] = []
        self.forbidden = {"a": forbidden_strings(a, b), "b": forbidden_strings(b, a)}
        self._kwargs: dict[tuple, dict] = {}

    def url(self, target: Tenant, *, objects: Tenant | None = None, unassigned: bool = False) -> str:
        objects = objects or target
        key = (objects.slug, unassigned)
        if unassigned:
            objects = dataclasses.replace(objects, assigned_customer=objects.unassigned_customer)
        if key not in self._kwargs:
            self._kwargs[key] = self.case.kwargs(objects) if self.case.kwargs else {}
        kwargs = dict(self._kwargs[key])
        if self.route.in_tenant:
            kwargs["tenant"] = target.slug
        return reverse(self.route.name, kwargs=kwargs)

    def client(self, user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    def check(self, label, response, expected: set[int], forbidden: set[str]) -> None:
        if response.status_code not in expected:
            self.errors.append(f"{label}: status {response.status_code}, expected {sorted(expected)}")
        body = body_of(response).lower()
        leaked = sorted(s for s in forbidden if s.lower() in body)
        if leaked:
            self.errors.append(f"{label}: response names {leaked}")

    def forbidden_for(self, home: str, role: str | None, *, url_names_target: bool = False) -> set[str]:
        if home == "a":
            strings = set(self.forbidden["a"])
            if role in {"rep", "customer"}:
                strings |= unassigned_strings(self.a)
            return strings
        if home == "b":
            if url_names_target and self.case.shows_target:
                return set()
            return set(self.forbidden["b"])
        return self.forbidden["a"] | self.forbidden["b"] if not self.case.shows_target else set()

    def run_get(self) -> None:
        route, case, a, b = self.route, self.case, self.a, self.b
        url = self.url(a)
        anonymous = self.client(None).get(url)
        self.check(f"GET {url} anonymous", anonymous, anonymous_statuses(route, case), self.forbidden_for("", None))
        for role, user in a.users().items():
            expected = accepted(case.get[role])
            client = self.client(user)
            self.check(f"GET {url} as A's {role}", client.get(url), expected, self.forbidden_for("a", role))
            if case.kwargs and case.tenant_objects and route.in_tenant:
                foreign = self.url(a, objects=b)
                self.check(
                    f"GET {foreign} (B's objects) as A's {role}",
                    client.get(foreign),
                    refused(expected),
                    self.forbidden_for("a", role),
                )
            if case.customer_level and role in {"rep", "customer"}:
                hidden = self.url(a, unassigned=True)
                self.check(
                    f"GET {hidden} (unassigned customer) as A's {role}",
                    client.get(hidden),
                    refused(expected),
                    self.forbidden_for("a", role),
                )
        for role, user in b.users().items():
            expected = {404} if route.in_tenant else accepted(case.get[role])
            self.check(
                f"GET {url} as B's {role}",
                self.client(user).get(url),
                expected,
                self.forbidden_for("b", role, url_names_target=True),
            )


ALL_CASES = sorted(r.name for r in ROUTES if r.name in ROUTE_CASES)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ALL_CASES)
def test_route_get_isolation(name, tenant_a, tenant_b):
    route = next(r for r in ROUTES if r.name == name)
    for tenant in (tenant_a, tenant_b) if ROUTE_CASES[name].seed else ():
        ROUTE_CASES[name].seed(tenant)
    matrix = Matrix(route, ROUTE_CASES[name], tenant_a, tenant_b)
    matrix.run_get()
    assert not matrix.errors, "\n".join(matrix.errors)


# ---- writes: refused means nothing changed ---------------------------------------------------------
UNTRACKED_TABLES = {"django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog"}


def database_state() -> dict[str, list]:
    with scopes_disabled():
        return {
            model._meta.db_table: sorted(map(repr, model._base_manager.order_by().values_list()))
            for model in apps.get_models()
            if model._meta.db_table not in UNTRACKED_TABLES and not model._meta.proxy
        }


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(table for table in before if before[table] != after.get(table))


WRITE_ACTORS = ["anonymous", "a-manager", "a-rep", "a-customer", "b-manager", "b-rep", "b-customer"]


def write_actors(case: Case) -> list[str]:
    extra = ["a-on-b-objects"] if case.kwargs and case.tenant_objects else []
    return WRITE_ACTORS + extra + (["a-rep-unassigned"] if case.customer_level else [])


WRITE_CASES = [
    (name, method, actor)
    for name in ALL_CASES
    for method in ROUTE_CASES[name].writes
    for actor in write_actors(ROUTE_CASES[name])
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "actor"), WRITE_CASES)
def test_route_write_isolation(name, method, actor, tenant_a, tenant_b):
    route = next(r for r in ROUTES if r.name == name)
    case = ROUTE_CASES[name]
    write = case.writes[method]
    matrix = Matrix(route, case, tenant_a, tenant_b)
    home, _, role = actor.partition("-")
    if actor == "anonymous":
        user, url, expected = None, matrix.url(tenant_a), anonymous_statuses(route, case)
    elif actor == "a-on-b-objects":
        user, url, expected = tenant_a.manager, matrix.url(tenant_a, objects=tenant_b), {404}
        home, role = "a", "manager"
    elif actor == "a-rep-unassigned":
        user, url, expected = tenant_a.rep_user, matrix.url(tenant_a, unassigned=True), refused(write.status["rep"])
        home, role = "a", "rep"
    elif home == "a":
        user, url, expected = tenant_a.users()[role], matrix.url(tenant_a), accepted(write.status[role])
    else:
        user, url = tenant_b.users()[role], matrix.url(tenant_a)
        expected = {404} if route.in_tenant else accepted(write.status[role])
    data = write.data(tenant_a)
    client = matrix.client(user)
    for tenant in (tenant_a, tenant_b) if case.prepare else ():
        case.prepare(tenant)
    before = database_state()
    send = getattr(client, method.lower())
    response = send(url, json.dumps(data), content_type="application/json") if write.json else send(url, data)
    matrix.check(f"{method} {url} as {actor}", response, expected, matrix.forbidden_for(home, role or None))
    if response.status_code >= 400 or actor == "anonymous":
        changed = changed_tables(before, database_state())
        if changed:
            matrix.errors.append(f"{method} {url} as {actor} answered {response.status_code} but changed {changed}")
    assert not matrix.errors, "\n".join(matrix.errors)
