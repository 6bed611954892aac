"""`{% alerts_to_work_count %}`: the navigation's count of the caller's alerts to work (one COUNT query)."""

from django import template

from alerts.selectors import active_count

register = template.Library()


@register.simple_tag(takes_context=True)
def alerts_to_work_count(context) -> int:
    membership, tenant = context.get("membership"), context.get("tenant")
    if membership is None or tenant is None or membership.role == "customer":
        return 0
    return active_count(distributor=tenant, membership=membership)
