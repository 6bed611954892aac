"""How the product writes money, dates and percentages for people: in the tenant's currency and locale
(Babel), one date format per locale everywhere (Babel's medium date, "29 Nov 2026" in en_GB, "Nov 29,
2026" in en_US, "29.11.2026" in de_DE). Pages use the template filters of
`stratify.templatetags.stratify_format` (built in: no `{% load %}`), tables, e-mails and commands call
these functions. Money stays exact until here: amounts are rounded only when written out.

`money_str` is the API's spelling of an amount: a decimal string with two decimals ("1234.50")."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.numbers import format_decimal, parse_pattern
from django.utils import timezone

DEFAULT_LOCALE = "en_US"
DEFAULT_CURRENCY = "USD"
CENT = Decimal("0.01")
EMPTY = "—"


@lru_cache(maxsize=256)
def is_valid_locale(identifier: str) -> bool:
    """True for a locale Babel knows (`en_US`, `de_DE`, `fr`)."""
    try:
        Locale.parse(identifier)
    except (ValueError, TypeError, UnknownLocaleError):
        return False
    return True


def _locale(distributor) -> str:
    value = getattr(distributor, "locale", None) or DEFAULT_LOCALE
    return value if is_valid_locale(value) else DEFAULT_LOCALE


def _currency(distributor) -> str:
    return (getattr(distributor, "currency", None) or DEFAULT_CURRENCY).upper()


def to_decimal(value) -> Decimal | None:
    """An amount as a Decimal (floats through their shortest repr, so 0.1 stays 0.1); None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        return None


def money_decimal(value) -> Decimal | None:
    """The amount rounded to the cent (half-even, the one rule of docs PROFIT_CENTERS.md for money shown
    or exported, everywhere: so every report reconciles with the run's totals), for exports and the API."""
    amount = to_decimal(value)
    if amount is None or not amount.is_finite():
        return None
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def money_str(value) -> str | None:
    """The API's money: a decimal string with two decimals ("-12.30"); None stays None."""
    amount = money_decimal(value)
    return None if amount is None else f"{amount:.2f}"


def format_money(value, distributor, decimals: int = 0) -> str:
    """`value` in the tenant's currency and locale: "$1,235" (en_US, USD), "1.234,57 €" (de_DE, EUR,
    decimals=2). Empty values give an em dash."""
    amount = to_decimal(value)
    if amount is None or not amount.is_finite():
        return EMPTY
    locale, pattern = _pattern(_locale(distributor), "currency", decimals)
    rounded = _unsigned_zero(amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN))
    return pattern.apply(rounded, locale, currency=_currency(distributor), currency_digits=False)


def _unsigned_zero(rounded: Decimal) -> Decimal:
    """A rounded amount, without the sign of a zero: -0.004 shown to the cent is "$0.00", not "-$0.00"."""
    return abs(rounded) if rounded == 0 else rounded


@lru_cache(maxsize=128)
def _pattern(locale_id: str, kind: str, decimals: int):
    """The locale and its parsed currency or percent pattern with `decimals` decimals, parsed once (a
    page shows hundreds of amounts; parsing the locale and the pattern for each was most of their
    cost)."""
    locale = Locale.parse(locale_id)
    digits = "." + "0" * decimals if decimals else ""
    if kind == "currency":
        # Babel's currency pattern fixes the decimals by currency; ours says how many this place shows.
        pattern = locale.currency_formats["standard"].pattern.replace("#,##0.00", f"#,##0{digits}")
    else:
        pattern = locale.percent_formats[None].pattern.replace("#,##0", f"#,##0{digits}")
    return locale, parse_pattern(pattern)


def format_number(value, distributor, decimals: int = 0) -> str:
    """A plain number with the locale's grouping: "1,234" / "1.234"."""
    amount = to_decimal(value)
    if amount is None or not amount.is_finite():
        return EMPTY
    rounded = _unsigned_zero(amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN))
    fmt = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(rounded, format=fmt, locale=_locale(distributor))


def format_percent(ratio, distributor, decimals: int = 1) -> str:
    """A ratio (0.234) as a percentage in the locale: "23.4%" / "23,4 %"."""
    value = to_decimal(ratio)
    if value is None or not value.is_finite():
        return EMPTY
    locale, pattern = _pattern(_locale(distributor), "percent", decimals)
    # Rounded here (half-even, as Babel would) so a ratio that rounds to zero loses its sign: "0.0%".
    rounded = _unsigned_zero((value * 100).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN))
    return pattern.apply(rounded / 100, locale)


def format_points(value, distributor, decimals: int = 1) -> str:
    """A difference of two percentages, in percentage points, signed: "+2.5 pt", "-3.4 pt", "0.0 pt"
    (a difference that rounds to zero has no sign)."""
    amount = to_decimal(value)
    if amount is None or not amount.is_finite():
        return EMPTY
    text = format_number(amount, distributor, decimals)
    rounded = amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    return f"{'+' if rounded > 0 else ''}{text} pt"


def format_date(value, distributor) -> str:
    """The locale's one date format (Babel's medium): "Nov 29, 2026", "29 Nov 2026", "29.11.2026"."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return babel_format_date(value, format="medium", locale=_locale(distributor))


def format_datetime(value, distributor) -> str:
    """The date as `format_date` writes it, then the time (24-hour clock, local time zone)."""
    if value is None or value == "":
        return EMPTY
    if not isinstance(value, datetime):
        return format_date(value, distributor)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{format_date(local.date(), distributor)}, {local:%H:%M}"


def format_month(value, distributor) -> str:
    """A month ("2026-11" or a date) as the locale names it: "Nov 2026"."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:7] + "-01")
        except ValueError:
            return value
    return babel_format_date(value, format="MMM y", locale=_locale(distributor))


def locale_tag(distributor) -> str:
    """The locale as a BCP 47 tag for the browser's Intl ("de-DE")."""
    return _locale(distributor).replace("_", "-")
