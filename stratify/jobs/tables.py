"""The jobs list's table (see stratify.tenancy.lists)."""

import django_tables2 as tables
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.html import format_html

from stratify.formatting import format_datetime
from stratify.tenancy.lists import LeanTable

from .models import Job
from .registry import kind_label


class JobTable(LeanTable):
    detail_url_name = "job-detail"

    number = tables.Column(verbose_name="#")  # per tenant (URLs take it), never the database id
    kind = tables.Column(verbose_name="Kind")
    status = tables.Column(verbose_name="Status")
    progress = tables.Column(verbose_name="Progress")
    started_at = tables.DateTimeColumn(verbose_name="Started", default="—")
    message = tables.Column(verbose_name="Message", orderable=False)

    class Meta(LeanTable.Meta):
        model = Job
        fields = ()
        order_by = ("-number",)
        empty_text = "No jobs yet."

    message_chars = 80

    def __init__(self, *args, tenant_slug: str, **kwargs):
        self.tenant_slug = tenant_slug
        super().__init__(*args, **kwargs)

    # Reversed once per page; each row puts its number in place of this one (the last path segment).
    URL_PLACEHOLDER = 999999999

    def before_render(self):
        self._url = reverse(self.detail_url_name, kwargs={"tenant": self.tenant_slug, "pk": self.URL_PLACEHOLDER})

    def render_number(self, value, record):
        head, _, tail = self._url.rpartition(f"/{self.URL_PLACEHOLDER}/")
        url = f"{head}/{value}/{tail}"
        return format_html('<a href="{}">{}</a>', url, value)

    def render_kind(self, value, record):
        return kind_label(value)

    def render_status(self, value, record):
        return record.get_status_display()

    def render_progress(self, value, record):
        return f"{value}%"

    def render_started_at(self, value, record):
        return format_datetime(value, self.distributor)

    def render_message(self, value, record):
        return truncatechars(value, self.message_chars)

    # The export's cells: plain values (no link, the whole message).
    def value_number(self, value):
        return value

    def value_status(self, value, record):
        return record.get_status_display()

    def value_progress(self, value):
        return value

    def value_started_at(self, value):
        return value  # a datetime: the export writes it as one (local time)

    def value_message(self, value):
        return value
