"""The one base for list pages, in the style of NetBox's `ObjectListView`: a queryset (what the
caller may see), a django-filter FilterSet over it, a django-tables2 table that sorts and pages it,
and the same rows exported as CSV or XLSX (`?export=csv|xlsx`: every row the filter keeps, not only
the page). My customers, rep assignment, jobs and imports are built on it, and so is every report.

`LeanTable` is the tables' base: its `rendered_rows` calls the `render_<column>` methods directly.
django-tables2 resolves every cell through `inspect.signature`, about a third of a 25 x 10 page's
time; `templates/partials/table.html` draws the headers, sorting and pagination around it."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

import django_tables2 as tables
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page
from django.db.models import F
from django.utils.html import conditional_escape
from django.views.generic import TemplateView
from django_tables2 import RequestConfig
from django_tables2.data import TableQuerysetData

from stratify.exports import EXPORT_FORMATS, export_response

from .views import TenantViewMixin

MAX_PER_PAGE = 500


def _bounded_int(raw, default: int, high: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    return value if 1 <= value <= high else default


def _with_query(request, values: dict):
    """A copy of `request` whose GET has `values` set (what RequestConfig reads)."""
    query = request.GET.copy()
    for key, value in values.items():
        query[key] = str(value)
    clone = copy.copy(request)
    clone.GET = query
    return clone


def _empty_last(term, query):
    """An `order_by` term of `query` with NULLs last when its column can be NULL: an annotation (a
    figure of the run, left-joined) or a nullable field, as an F expression. A column that is never
    NULL keeps its plain term, so PostgreSQL can still read it in an index's order (`amount DESC NULLS
    LAST` is not the index's order: every row is read and sorted). An expression (a column's own
    ordering) is left as it is."""
    if not isinstance(term, str) or term == "?":
        return term
    name = term.lstrip("-")
    if name not in query.annotations and not _nullable(query.model, name):
        return term
    return F(name).desc(nulls_last=True) if term.startswith("-") else F(name).asc(nulls_last=True)


def _nullable(model, path: str) -> bool:
    """Whether the field at `path` ("rep__name") can be NULL: a nullable field or relation on the way."""
    for part in path.split("__"):
        try:
            field = model._meta.get_field("id" if part == "pk" else part)
        except FieldDoesNotExist:  # not a field (a transform, an alias): treat as nullable
            return True
        if field.null:
            return True
        if not field.is_relation:
            return False
        model = field.related_model
    return False


class LeanTable(tables.Table):
    """A django-tables2 table whose cells are rendered by `render_<name>(value, record)` when the
    column has one, else escaped; `None`/"" shows the column default unless the column is listed
    in `always_render`."""

    always_render: frozenset[str] = frozenset()
    # The tenant whose currency and locale cells are written in (set by TenantListView).
    distributor = None

    class Meta:
        template_name = "partials/table.html"
        attrs = {"class": "table table-sm table-hover align-middle mb-0"}

    @property
    def order_by(self):
        return self._order_by

    @order_by.setter
    def order_by(self, value):
        """django-tables2's sort (`?sort=`), with empty values last in both directions: PostgreSQL
        puts NULLs first when sorting down (a manager sorting by revenue saw the customers without one
        first), SQLite when sorting up. A page's default order is its queryset's own."""
        tables.Table.order_by.fset(self, value)
        if self._order_by and isinstance(self.data, TableQuerysetData):
            rows = self.data.data
            self.data.data = rows.order_by(*(_empty_last(term, rows.query) for term in rows.query.order_by))

    def cell_value(self, record, name):
        """The raw value of column `name` for `record` (override for related or computed columns)."""
        column = self.columns[name]
        return column.accessor.resolve(record, quiet=True)

    def rendered_rows(self) -> list[list[tuple[str, str]]]:
        """[(td attributes, cell html), ...] per row of the current page, visible columns only."""
        columns = [
            (c.name, c.attrs.get("td", {}).as_html() if c.attrs.get("td") else "", c.default) for c in self.columns
        ]
        renderers = {name: getattr(self, f"render_{name}", None) for name, _, _ in columns}
        self.before_render()
        rows = []
        for row in self.page.object_list if self.page else self.rows:
            record, cells = row.record, []
            for name, attrs, default in columns:
                value = self.cell_value(record, name)
                if value in (None, "") and name not in self.always_render:
                    cells.append((attrs, default))
                    continue
                render = renderers[name]
                cells.append((attrs, render(value, record) if render else conditional_escape(value)))
            rows.append(cells)
        return rows

    def before_render(self) -> None:
        """Hook: prepare what every row's rendering shares (e.g. a URL pattern)."""

    def as_values(self, exclude_columns=None):
        """The export's rows (django-tables2: `value_<column>` methods, else `render_<column>`)."""
        self.before_render()
        return super().as_values(exclude_columns)


class TenantListView(TenantViewMixin, TemplateView):
    """Subclasses set `table_class`, optionally `filterset_class`, and implement `get_queryset()`."""

    table_class: type[tables.Table]
    filterset_class = None
    per_page = 25
    export_name = "export"  # the file name's stem, after the tenant's slug

    def get_queryset(self):
        raise NotImplementedError

    def get_table_kwargs(self) -> dict:
        return {}

    def get_filterset(self, queryset):
        if self.filterset_class is None:
            return None
        return self.filterset_class(self.request.GET or None, queryset=queryset, request=self.request)

    def prepare_rows(self) -> None:
        """Set `self.filterset` and `self.rows` (the rows the filter keeps; none when it is invalid)."""
        queryset = self.get_queryset()
        self.filterset = self.get_filterset(queryset)
        self.rows = queryset
        if self.filterset is not None and self.filterset.is_bound:
            self.rows = self.filterset.qs if self.filterset.is_valid() else queryset.none()

    def get(self, request, *args, **kwargs):
        self.prepare_rows()
        fmt = request.GET.get("export")
        if fmt in EXPORT_FORMATS:
            return export_response(
                headers=self.export_headers(),
                rows=self.export_rows(self._sorted_rows()),
                fmt=fmt,
                filename=f"{self.distributor.slug}-{self.export_name}",
                sheet=self.export_name.replace("-", " ").capitalize(),
            )
        return super().get(request, *args, **kwargs)

    # --- export: by default, the table's columns as django-tables2 gives their values ---------------

    def export_headers(self) -> Sequence[str]:
        return next(iter(self._export_table().as_values()))

    def export_rows(self, rows) -> Iterable[Sequence]:
        values = self._export_table(rows).as_values()
        next(values)
        return values

    def _export_table(self, rows=None):
        """The table as the page shows it, every row: the page's sort (`?sort=`) applied, no paging."""
        table = self._table(self.rows if rows is None else rows)
        RequestConfig(self.request, paginate=False).configure(table)
        return table

    def _sorted_rows(self):
        """The rows in the order the page shows them (its `?sort=`, by the table's own ordering rules),
        for the export: a queryset ordered, or a list sorted."""
        return self._export_table().data.data

    def _table(self, rows):
        table = self.table_class(rows, **self.get_table_kwargs())
        table.distributor = self.distributor
        return table

    # --- page -------------------------------------------------------------------------------------

    def get_context_data(self, **kwargs):
        table = self._table(self.rows)
        # `?per_page=` within 1..MAX_PER_PAGE (anything else: the page's default); a page number that
        # is not a number or out of range shows the first or last page (django-tables2 `silent`).
        per_page = _bounded_int(self.request.GET.get(table.prefixed_per_page_field), self.per_page, MAX_PER_PAGE)
        request = _with_query(self.request, {table.prefixed_per_page_field: per_page})
        RequestConfig(request, paginate={"per_page": per_page}).configure(table)
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("export", None)
        # The page's records themselves (not table rows), for templates that list them.
        page = Page([row.record for row in table.page.object_list], table.page.number, table.paginator)
        return super().get_context_data(
            table=table, filter=self.filterset, page=page, query=query.urlencode(), **kwargs
        )
