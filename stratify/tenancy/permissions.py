"""Permissions are data: each role is a set of permissions; pages and endpoints name the permission
they need per HTTP method. One mapping, used by the HTML views and the API alike."""

from enum import StrEnum


class Role(StrEnum):
    MANAGER = "manager"
    REP = "rep"
    CUSTOMER = "customer"


class Perm(StrEnum):
    VIEW_DASHBOARD = "view_dashboard"  # tenant-wide figures: segments, profit centers, benchmarks
    VIEW_CUSTOMERS = "view_customers"  # customer records (reps: only their assigned customers)
    VIEW_CATALOG = "view_catalog"  # products, partners, reps
    LOG_INTERACTIONS = "log_interactions"
    VIEW_JOBS = "view_jobs"
    RUN_JOBS = "run_jobs"  # imports, stratification runs
    MANAGE_MODEL = "manage_model"  # model settings, tier policies, publishing
    MANAGE_USERS = "manage_users"  # invitations, roles, rep assignment
    VIEW_SCORECARD = "view_scorecard"  # a customer's own scorecard (staff: "view as customer")


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.MANAGER: frozenset(Perm),
    Role.REP: frozenset(
        {Perm.VIEW_CUSTOMERS, Perm.VIEW_CATALOG, Perm.LOG_INTERACTIONS, Perm.VIEW_SCORECARD, Perm.VIEW_JOBS}
    ),
    Role.CUSTOMER: frozenset({Perm.VIEW_SCORECARD}),
}


def role_has(role: str, perm: Perm | None) -> bool:
    return perm is None or perm in ROLE_PERMISSIONS.get(role, frozenset())


def required_perm(permissions: dict[str, Perm] | Perm | None, method: str) -> Perm | None:
    """The permission a view needs for `method`. A dict maps HTTP methods; HEAD and OPTIONS follow GET."""
    if not isinstance(permissions, dict):
        return permissions
    method = "GET" if method in {"HEAD", "OPTIONS"} else method
    if method not in permissions:
        raise PermissionError(f"method {method} is not allowed")
    return permissions[method]
