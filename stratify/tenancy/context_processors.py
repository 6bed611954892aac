from .permissions import ROLE_PERMISSIONS
from .resolve import memberships_of


def tenancy(request):
    membership = getattr(request, "membership", None)
    return {
        "membership": membership,
        "tenant": getattr(request, "distributor", None),
        "perms_in_tenant": ROLE_PERMISSIONS.get(membership.role, frozenset()) if membership else frozenset(),
        "my_memberships": memberships_of(getattr(request, "user", None)),
    }
