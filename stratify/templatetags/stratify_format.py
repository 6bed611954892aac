"""Template filters for money, dates and percentages in the tenant's currency and locale (see
`stratify.formatting`). Built in (settings: TEMPLATES OPTIONS "builtins"), so every template has them:

    {{ score.revenue|money:tenant }}        $1,235 / 1.235 €
    {{ amount|money_cents:tenant }}         $1,234.57
    {{ run.as_of|local_date:tenant }}       Nov 29, 2026 / 29.11.2026
    {{ job.created_at|local_datetime:tenant }}
    {{ score.gm_pct|percent:tenant }}       a ratio: 0.234 -> 23.4%
    {{ row.revenue_pct|pct:tenant }}        already a percentage: 23.4 -> 23.4%
    {{ row.gap|points:tenant }}             a difference of percentages: -3.4 -> -3.4 pt
    {{ count|number:tenant }}               1,234 / 1.234
    {% today tenant %}                      today's date
    {% money_attrs tenant %}                data-currency / data-locale for the charts (Intl.NumberFormat)

Without a tenant (`tenant` is None) the defaults apply: USD, en_US."""

from django import template
from django.utils import timezone
from django.utils.html import format_html

from stratify import formatting

register = template.Library()


@register.filter
def money(value, tenant=None):
    return formatting.format_money(value, tenant, decimals=0)


@register.filter
def money_cents(value, tenant=None):
    return formatting.format_money(value, tenant, decimals=2)


@register.filter
def local_date(value, tenant=None):
    return formatting.format_date(value, tenant)


@register.filter
def local_datetime(value, tenant=None):
    return formatting.format_datetime(value, tenant)


@register.filter
def local_month(value, tenant=None):
    return formatting.format_month(value, tenant)


@register.filter
def percent(value, tenant=None):
    return formatting.format_percent(value, tenant)


@register.filter
def pct(value, tenant=None):
    """A value already multiplied by 100."""
    amount = formatting.to_decimal(value)
    return formatting.EMPTY if amount is None else formatting.format_percent(amount / 100, tenant)


@register.filter
def points(value, tenant=None):
    """A difference of percentages, in points, signed: "+2.5 pt", "0.0 pt", "-3.4 pt"."""
    return formatting.format_points(value, tenant)


@register.filter
def number(value, tenant=None):
    return formatting.format_number(value, tenant)


@register.simple_tag
def today(tenant=None):
    return formatting.format_date(timezone.localdate(), tenant)


@register.simple_tag
def money_attrs(tenant=None):
    currency = (getattr(tenant, "currency", None) or formatting.DEFAULT_CURRENCY).upper()
    return format_html('data-currency="{}" data-locale="{}"', currency, formatting.locale_tag(tenant))
