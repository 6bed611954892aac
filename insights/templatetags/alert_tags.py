"""`{% open_alert_count %}`: the navigation's count of the caller's alerts to work (one COUNT query)."""

from django import template

from alerts.selectors import open_count

register = template.Library()


@register.simple_tag(takes_context=True)
def open_alert_count(context) -> int:
    membership, tenant = context.get("membership"), context.get("tenant")
    if membership is None or tenant is None or membership.role == "customer":
        return 0
    return open_count(distributor=tenant, membership=membership)
