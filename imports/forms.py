"""The upload form and the mapping step's form (one field per canonical column of the kind)."""

from django import forms
from django.conf import settings

from .formats import KIND_CHOICES, Kind


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=KIND_CHOICES, initial="invoice_lines")
    file = forms.FileField(help_text="CSV (comma, semicolon or tab; UTF-8 or Windows-1252) or XLSX.")

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_BYTES
        if uploaded.size > limit:
            size_mb, limit_mb = uploaded.size / 1024 / 1024, limit / 1024 / 1024
            raise forms.ValidationError(f"The file is {size_mb:,.1f} MB, over the {limit_mb:,.1f} MB import limit.")
        return uploaded


class MappingForm(forms.Form):
    """`map_<column>`: the file column (or `A - B` for numbers) feeding each canonical column; empty
    means the column is not imported."""

    date_format = forms.CharField(
        required=False, max_length=50, help_text="Only when dates are not YYYY-MM-DD, e.g. %m/%d/%Y or %d.%m.%Y."
    )

    restratify = forms.BooleanField(
        required=False,
        label="Re-stratify after the import",
        help_text="Run and publish a stratification once the lines are in.",
    )

    def __init__(self, *args, kind: Kind, headers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.headers = headers
        for column in kind.columns:
            help_text = f"{column.type}{', required' if column.required else ''}"
            if column.type in ("decimal", "int"):
                help_text += " · a column, or e.g. “Sales - Profit”"
            self.fields[f"map_{column.name}"] = forms.CharField(
                label=column.name, required=False, max_length=300, help_text=help_text
            )

    def mapping(self) -> dict[str, str | None]:
        return {c.name: (self.cleaned_data.get(f"map_{c.name}") or "").strip() or None for c in self.kind.columns}

    def column_fields(self):
        return [self[f"map_{c.name}"] for c in self.kind.columns]
