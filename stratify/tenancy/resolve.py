"""Finding the tenant and the caller's membership: the one lookup pages and API share."""

from django_scopes import scopes_disabled

from accounts.models import Membership


def membership_for(user, slug: str) -> Membership | None:
    """The user's membership in the distributor `slug`, or None (unknown tenant, not a member, or
    anonymous): callers answer all three the same way, with a 404."""
    if not getattr(user, "is_authenticated", False):
        return None
    with scopes_disabled():
        return (
            Membership.objects.select_related("distributor", "rep", "customer")
            .filter(user=user, distributor__slug=slug)
            .first()
        )


def memberships_of(user) -> list[Membership]:
    if not getattr(user, "is_authenticated", False):
        return []
    with scopes_disabled():
        return list(Membership.objects.select_related("distributor").filter(user=user).order_by("distributor__name"))
