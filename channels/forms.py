"""Forms for logging a customer interaction from the customer page."""

from django import forms
from django.utils import timezone

from .models import TEXT_MAX_CHARS, Interaction, Partner


class BoundedTextarea(forms.Textarea):
    """Shows at most TEXT_MAX_CHARS characters of the value: a refused form does not echo a huge one."""

    def format_value(self, value):
        value = super().format_value(value)
        return value[:TEXT_MAX_CHARS] if value else value


class InteractionForm(forms.ModelForm):
    class Meta:
        model = Interaction
        fields = ["date", "kind", "channel", "summary", "opportunity"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "summary": BoundedTextarea(attrs={"rows": 3}),
        }
        labels = {"kind": "Type", "opportunity": "There is a sales opportunity"}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("date", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.fields["summary"].required = True
        for name, field in self.fields.items():
            css = "form-check-input" if isinstance(field.widget, forms.CheckboxInput) else "form-control"
            if isinstance(field.widget, forms.Select):
                css = "form-select"
            field.widget.attrs.setdefault("class", css)
            field.widget.attrs.setdefault("id", f"id_interaction_{name}")

    # Logged by hand: something that happened lately (older history comes with the interactions import).
    OLDEST_DAYS = 5 * 366

    def clean_date(self):
        value = self.cleaned_data["date"]
        today = timezone.localdate()
        if value > today:
            raise forms.ValidationError("An interaction cannot be in the future.")
        if (today - value).days > self.OLDEST_DAYS:
            raise forms.ValidationError(
                "Log interactions of the last five years here; import older ones (Import data → Interactions)."
            )
        return value


class PartnerForm(forms.ModelForm):
    """A manager's edit of a partner's description (its id stays the import's key)."""

    class Meta:
        model = Partner
        fields = ["name", "kind", "region", "supports_customer", "services", "why_customers_use_it"]
        widgets = {
            "supports_customer": BoundedTextarea(attrs={"rows": 3}),
            "services": BoundedTextarea(attrs={"rows": 3}),
            "why_customers_use_it": BoundedTextarea(attrs={"rows": 3}),
        }
        labels = {
            "supports_customer": "Who it supports",
            "services": "What it does",
            "why_customers_use_it": "Why customers use it",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
