"""`{% alerts_to_work_count %}`: the navigation's count of the caller's alerts to work (one COUNT query,
none on a page that counted them already: the worklist's `alerts_to_work`)."""

from django import template

from alerts.selectors import active_count

register = template.Library()


@register.simple_tag(takes_context=True)
def alerts_to_work_count(context) -> int:
    membership, tenant = context.get("membership"), context.get("tenant")
    if membership is None or tenant is None or membership.role == "customer":
        return 0
    counted = context.get("alerts_to_work")
    return counted if counted is not None else active_count(distributor=tenant, membership=membership)
