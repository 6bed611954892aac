"""Forms of the manager pages: model settings (weights, cost-to-serve rates, thresholds, window) and
tier policies. Validation lives in the services (engine settings, `segments.policies`); the forms
convert between widgets and the services' dicts and map the services' errors back onto fields."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.db.models import DecimalField as ModelDecimalField

from sales.models import InvoiceLine
from stratify.engine import FACTORS
from stratify.engine.settings import RATE_FIELDS, WINDOW_DAYS_MAX, WINDOW_DAYS_MIN
from stratify.formatting import format_money, format_number

from .models import TierPolicy
from .policies import EDITABLE_FIELDS, SHARES
from .vocabulary import FACTOR_LABELS, RATE_LABELS, SETTING_LABELS

PERCENT = Decimal(100)
# A ship method as the lines hold it (at most this long): a longer name could never match one.
SHIP_METHOD_CHARS = InvoiceLine._meta.get_field("ship_method").max_length


def _style(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


def _percent(share) -> Decimal:
    """0.3 -> 30 (the form shows shares as percentages), without float noise."""
    value = Decimal(str(share)) * PERCENT
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


class ModelSettingsForm(forms.Form):
    """Every setting of the model. `to_settings()` gives the complete dict the services take;
    `add_service_errors()` puts their `{"value_weights.revenue": [...]}` errors on the right fields."""

    # The engine's range (`stratify.engine.settings`), the same for the run form below.
    window_days = forms.IntegerField(
        label=SETTING_LABELS["window_days"], min_value=WINDOW_DAYS_MIN, max_value=WINDOW_DAYS_MAX
    )
    # Shares are entered as percentages (30 for the top 30%) and stored as fractions (0.30).
    value_top_share = forms.DecimalField(
        label=SETTING_LABELS["value_top_share"],
        min_value=1,
        max_value=99,
        decimal_places=2,
        help_text="% of customers, by value score: 30 = the top 30%",
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    profit_top_share = forms.DecimalField(
        label=SETTING_LABELS["profit_top_share"],
        min_value=1,
        max_value=99,
        decimal_places=2,
        help_text="% of customers, by profit score, with net profit above zero",
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    delivery_cost = forms.CharField(
        label="Delivery cost per ship method",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: ship method = cost (others use the default delivery cost)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in RATE_FIELDS:
            self.fields[name] = forms.DecimalField(label=RATE_LABELS[name], min_value=0, decimal_places=4)
        for axis in ("value", "profit"):
            for factor in FACTORS:
                self.fields[f"{axis}_w_{factor}"] = forms.DecimalField(
                    label=f"{axis.title()} weight: {FACTOR_LABELS[factor]}",
                    min_value=0,
                    decimal_places=4,
                )  # required: a blank weight is an error, not 0 (type 0 to leave a factor out)
        _style(self)

    @classmethod
    def initial_from(cls, settings: dict) -> dict:
        initial = {
            "window_days": settings["window_days"],
            "value_top_share": _percent(settings["value_top_share"]),
            "profit_top_share": _percent(settings["profit_top_share"]),
            "delivery_cost": "\n".join(f"{k} = {v}" for k, v in settings.get("delivery_cost", {}).items()),
        }
        for name in RATE_FIELDS:
            initial[name] = settings[name]
        for axis in ("value", "profit"):
            for factor in FACTORS:
                initial[f"{axis}_w_{factor}"] = settings[f"{axis}_weights"].get(factor, 0)
        return initial

    def weight_rows(self):
        """(factor label, value weight field, its share of the value axis, profit weight field, its
        share) for the template's weights table. A share is the weight over the axis' total (weights
        are relative): None when the field holds no number."""
        weights = {axis: {f: self._weight(f"{axis}_w_{f}") for f in FACTORS} for axis in ("value", "profit")}
        totals = {axis: sum(w for w in values.values() if w and w > 0) for axis, values in weights.items()}

        def share(axis, factor):
            weight, total = weights[axis][factor], totals[axis]
            if weight is None or not total or weight < 0:
                return None
            return round(float(weight / total * 100))

        return [
            (FACTOR_LABELS[f], self[f"value_w_{f}"], share("value", f), self[f"profit_w_{f}"], share("profit", f))
            for f in FACTORS
        ]

    def _weight(self, name) -> Decimal | None:
        raw = self[name].value()
        if raw in (None, ""):
            return None
        try:
            weight = Decimal(str(raw))
        except InvalidOperation:
            return None
        return weight if weight.is_finite() else None

    def rate_fields(self):
        return [self[name] for name in RATE_FIELDS]

    def clean_delivery_cost(self):
        mapping = {}
        for number, line in enumerate(self.cleaned_data["delivery_cost"].splitlines(), start=1):
            if not line.strip():
                continue
            method, sep, cost = line.partition("=")
            if not sep or not method.strip():
                raise forms.ValidationError(f"Line {number}: write it as 'ship method = cost'.")
            try:
                value = Decimal(cost.strip())
            except InvalidOperation:
                raise forms.ValidationError(f"Line {number}: '{cost.strip()}' is not a number.")
            if not value.is_finite():
                raise forms.ValidationError(f"Line {number}: '{cost.strip()}' is not a number.")
            if value < 0:
                raise forms.ValidationError(f"Line {number}: a cost must not be negative.")
            method = method.strip()
            if len(method) > SHIP_METHOD_CHARS:
                raise forms.ValidationError(
                    f"Line {number}: a ship method has at most {SHIP_METHOD_CHARS} characters, as on the lines."
                )
            if method in mapping:
                raise forms.ValidationError(f"Line {number}: {method!r} is priced twice; keep one line for it.")
            mapping[method] = str(value)
        return mapping

    def to_settings(self) -> dict:
        data = self.cleaned_data
        out = {
            "window_days": data["window_days"],
            "value_top_share": float(data["value_top_share"] / PERCENT),
            "profit_top_share": float(data["profit_top_share"] / PERCENT),
            "delivery_cost": data["delivery_cost"],
        }
        for name in RATE_FIELDS:
            out[name] = str(data[name])
        for axis in ("value", "profit"):
            out[f"{axis}_weights"] = {f: float(data[f"{axis}_w_{f}"]) for f in FACTORS if data.get(f"{axis}_w_{f}")}
        return out

    def add_service_errors(self, errors: dict) -> None:
        for key, messages in errors.items():
            if key.startswith(("value_weights", "profit_weights")):
                axis, _, factor = key.partition("_weights")
                field = f"{axis}_w_{factor.lstrip('.')}" if factor else f"{axis}_w_revenue"
                if factor == "":
                    messages = [f"{axis.title()} weights: {m}" for m in messages]
            elif key.startswith("delivery_cost"):
                field = "delivery_cost"
            else:
                field = key
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class RunForm(forms.Form):
    """A run of the saved model as of a chosen date and over a chosen window: a preview (what-if,
    nothing published) or a published run. Empty fields: the latest invoice date, the saved window."""

    as_of = forms.DateField(
        label="As of",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The run ranks the purchases of the window ending this day (default: the latest invoice date).",
    )
    window_days = forms.IntegerField(
        label="Window (days)", required=False, min_value=WINDOW_DAYS_MIN, max_value=WINDOW_DAYS_MAX
    )
    action = forms.ChoiceField(choices=[("publish", "Run and publish"), ("preview", "Preview")], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

    @property
    def publish(self) -> bool:
        return self.cleaned_data.get("action") != "preview"

    def overrides(self) -> dict | None:
        window = self.cleaned_data.get("window_days")
        return {"window_days": window} if window else None


class TierPolicyForm(forms.ModelForm):
    class Meta:
        model = TierPolicy
        fields = list(EDITABLE_FIELDS)
        labels = {
            "tier_name": "Tier name (what customers see)",
            "rank": "Tier order (1 = top)",
            "description": "Description for customers",
            "free_shipping_threshold": "Free shipping on orders over",
            "discount_pct": "Discount %",
            "payment_terms_days": "Payment terms (days)",
            "target_revenue_12m": "Target: 12-month purchases",
            "target_orders_12m": "Target: orders in 12 months",
            "target_categories": "Target: product categories",
            "target_days_to_pay": "Target: average days to pay (at most)",
            "target_avg_order_value": "Target: average order value (at least)",
            "target_returns_pct": "Target: returns, % of lines (at most)",
            "target_self_service_pct": "Target: orders on the web or EDI, % (at least)",
            "works_towards": "Customers of this segment work towards the tier of",
            "playbook": "Internal playbook (reps only)",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 2}), "playbook": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["works_towards"]
        field.choices = [("", "No other tier: its customers keep it (the top tier)"), *list(field.choices)[1:]]
        field.help_text = "The tier whose targets this tier's customers see. Never a less profitable segment's."
        _style(self)

    def _post_clean(self):
        # Validation against the other tiers is the service's job (it locks them); skip the model's.
        pass


class QualificationEndForm(forms.Form):
    qualification_end = forms.DateField(
        label="Qualification period ends",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
        help_text="Empty: the next scheduled run (without a schedule, a year after the published run's as-of date).",
    )


def _policy_label(field: str) -> str:
    form_field = TierPolicyForm.base_fields.get(field)
    if form_field is not None and form_field.label:
        return str(form_field.label)
    return str(TierPolicy._meta.get_field(field).verbose_name).capitalize()


def _policy_value(field: str, value, names: dict, distributor) -> str:
    """One value of an audited tier change as the form asks for it: money in the tenant's currency,
    a tier by its name, a choice by its label, text shortened."""
    if value is None or (value == "" and field != "works_towards"):
        return "—"
    if field == "works_towards":
        return names.get(value, value) if value else "No other tier (the top tier)"
    model_field = TierPolicy._meta.get_field(field)
    if model_field.choices:
        return str(dict(model_field.choices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(model_field, ModelDecimalField):
        amount = Decimal(str(value))
        decimals = 0 if amount == amount.to_integral_value() else 2
        if field in SHARES:
            return f"{format_number(amount, distributor, decimals=decimals)}%"
        return format_money(amount, distributor, decimals=decimals)
    if isinstance(value, int | float):
        return format_number(value, distributor)
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def policy_change_rows(changes, policies, distributor) -> list[dict]:
    """Audited tier changes as the tiers page lists them: per change, its lines "label: before →
    after" in the form's words (never a field name or a segment code)."""
    names = {p.segment: p.tier_name for p in policies}
    out = []
    for change in changes:
        lines = [
            {
                "label": _policy_label(field),
                "before": _policy_value(field, pair[0], names, distributor),
                "after": _policy_value(field, pair[1], names, distributor),
            }
            for field, pair in change.changes.items()
            if field in EDITABLE_FIELDS
        ]
        out.append({"change": change, "lines": lines})
    return out
