"""Issue 11, item 2: money, dates and percentages in the tenant's currency and locale (Babel), one date
format per locale, and the template filters every page uses."""

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template

from accounts.services import tenant_create
from stratify import formatting

USD = SimpleNamespace(currency="USD", locale="en_US")
EUR_DE = SimpleNamespace(currency="EUR", locale="de_DE")
GBP = SimpleNamespace(currency="GBP", locale="en_GB")


@pytest.mark.parametrize(
    ("tenant", "decimals", "expected"),
    [
        (USD, 0, "$1,235"),
        (USD, 2, "$1,234.57"),
        (EUR_DE, 0, "1.235\xa0€"),
        (EUR_DE, 2, "1.234,57\xa0€"),
        (GBP, 2, "£1,234.57"),
    ],
)
def test_money_in_the_tenant_s_currency_and_locale(tenant, decimals, expected):
    assert formatting.format_money(Decimal("1234.567"), tenant, decimals=decimals) == expected


def test_money_is_exact_until_shown_and_negative_and_empty_amounts_read_well():
    assert formatting.format_money(1.005, USD, decimals=2) == "$1.00"  # half-even from the exact repr
    assert formatting.format_money(1.015, USD, decimals=2) == "$1.02"
    assert formatting.format_money(Decimal("-2500.5"), USD) == "-$2,500"
    assert formatting.format_money(Decimal("-2501.5"), USD) == "-$2,502"
    assert formatting.format_money(None, USD) == "—"
    assert formatting.money_str(1.005) == "1.00" and formatting.money_str(1.015) == "1.02"
    assert formatting.money_str(Decimal("-3")) == "-3.00"
    assert formatting.money_str(None) is None
    assert formatting.money_str(float("nan")) is None


def test_one_date_format_per_locale_for_dates_and_datetimes():
    day = date(2026, 11, 29)
    moment = datetime(2026, 11, 30, 7, 5, tzinfo=UTC)
    assert formatting.format_date(day, USD) == "Nov 29, 2026"
    assert formatting.format_date(day, GBP) == "29 Nov 2026"
    assert formatting.format_date(day, EUR_DE) == "29.11.2026"
    assert formatting.format_date("2026-11-29", USD) == "Nov 29, 2026"
    # A datetime starts with the same date format, then a 24-hour time (the settings' time zone).
    assert formatting.format_datetime(moment, USD).startswith("Nov 30, 2026, ")
    assert formatting.format_datetime(moment, EUR_DE).startswith("30.11.2026, ")
    assert "a.m." not in formatting.format_datetime(moment, USD)


def test_percentages_and_numbers_in_the_locale():
    assert formatting.format_percent(0.2345, USD) == "23.4%"
    assert formatting.format_percent(0.2345, EUR_DE) == "23,4\xa0%"
    assert formatting.format_number(12345, EUR_DE) == "12.345"
    assert formatting.format_percent(None, USD) == "—"


def test_a_value_that_rounds_to_zero_shows_no_minus_sign():
    assert formatting.format_money(Decimal("-0.40"), USD) == "$0"
    assert formatting.format_money(Decimal("-0.5"), USD) == "$0"  # half-even: -0
    assert formatting.format_money(-0.004, USD, decimals=2) == "$0.00"
    assert formatting.format_money(Decimal("-0.40"), EUR_DE) == "0\xa0€"
    assert formatting.format_money(Decimal("-0.6"), USD) == "-$1"
    assert formatting.format_percent(Decimal("-0.0004"), USD) == "0.0%"
    assert formatting.format_percent(-0.0, USD) == "0.0%"
    assert formatting.format_percent(Decimal("-0.0004"), EUR_DE) == "0,0\xa0%"
    assert formatting.format_percent(Decimal("-0.0006"), USD) == "-0.1%"
    assert formatting.format_percent(Decimal("-0.004"), USD, decimals=0) == "0%"
    assert formatting.format_number(Decimal("-0.3"), USD) == "0"
    assert formatting.format_points(-0.04, USD) == "0.0 pt"
    assert formatting.format_points(-0.0, USD) == "0.0 pt"
    assert formatting.format_points(2.5, USD) == "+2.5 pt"
    assert formatting.format_points(-3.4, EUR_DE) == "-3,4 pt"
    assert formatting.format_points(None, USD) == "—"
    template = Template("{{ gap|points:tenant }} | {{ share|pct:tenant }} | {{ amount|money:tenant }}")
    html = template.render(Context({"tenant": USD, "gap": -0.0, "share": -0.01, "amount": -0.2}))
    assert html == "0.0 pt | 0.0% | $0"


def test_without_a_tenant_or_with_an_unknown_locale_the_defaults_apply():
    assert formatting.format_money(10, None) == "$10"
    assert formatting.format_date(date(2026, 1, 2), SimpleNamespace(locale="xx_NOPE", currency="USD")) == "Jan 2, 2026"


@pytest.mark.django_db
def test_a_tenant_s_locale_and_currency_are_validated():
    tenant = tenant_create(slug="fmt-de", name="Fmt", currency="eur", locale="de_DE")
    assert (tenant.currency, tenant.locale) == ("EUR", "de_DE")
    assert tenant_create(slug="fmt-default", name="Default").locale == "en_US"
    with pytest.raises(ValidationError, match="locale"):
        tenant_create(slug="fmt-bad", name="Bad", locale="not_a_locale")
    with pytest.raises(ValidationError, match="currency"):
        tenant_create(slug="fmt-bad2", name="Bad", currency="XYZ")


def test_template_filters_are_built_in():
    template = Template(
        "{{ amount|money:tenant }} | {{ amount|money_cents:tenant }} | {{ day|local_date:tenant }} | "
        "{{ ratio|percent:tenant }} | {{ share|pct:tenant }} | {% money_attrs tenant %}"
    )
    html = template.render(
        Context({"tenant": EUR_DE, "amount": 1234.5, "day": date(2026, 11, 29), "ratio": 0.25, "share": 12.5})
    )
    assert html == (
        '1.234\xa0€ | 1.234,50\xa0€ | 29.11.2026 | 25,0\xa0% | 12,5\xa0% | data-currency="EUR" data-locale="de-DE"'
    )
