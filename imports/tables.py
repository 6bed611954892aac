"""The imports list's table (see stratify.tenancy.lists)."""

import django_tables2 as tables

from stratify.jobs.tables import JobTable

from .formats import KIND_LABELS


class ImportTable(JobTable):
    """An import is a job of kind "import": its file and what it held instead of the job kind."""

    detail_url_name = "import-detail"
    message_chars = 100

    filename = tables.Column(verbose_name="File", accessor="params__filename", orderable=False)
    import_kind = tables.Column(verbose_name="Kind", accessor="params__import_kind", orderable=False)

    class Meta(JobTable.Meta):
        sequence = ("number", "filename", "import_kind", "status", "started_at", "message")
        exclude = ("kind", "progress")
        empty_text = "No imports yet."
        verbose_name = "Summary"

    def render_import_kind(self, value, record):
        return KIND_LABELS.get(value, value)  # "Invoice lines", not invoice_lines
