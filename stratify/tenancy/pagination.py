"""The API's one pagination: `?page=N&page_size=M`, M from 1 to MAX_PAGE_SIZE (50 by default). A
page size outside that range is not an error: the answer uses the default (or the maximum), says which
in `page_size`, and its `next`/`previous` links carry the size it used, never the one asked for."""

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_PAGE_SIZE = 500


class BoundedPageNumberPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        self.effective_page_size = self.get_page_size(request)
        return super().paginate_queryset(queryset, request, view)

    def _with_size(self, url):
        if url is None:
            return None
        if self.page_size_query_param in self.request.query_params:
            return replace_query_param(url, self.page_size_query_param, self.effective_page_size)
        return remove_query_param(url, self.page_size_query_param)

    def get_next_link(self):
        return self._with_size(super().get_next_link())

    def get_previous_link(self):
        return self._with_size(super().get_previous_link())

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "page_size": self.effective_page_size,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["page_size"] = {"type": "integer", "example": 50}
        response["required"] = [*response.get("required", []), "page_size"]
        return response
