"""OpenAPI generation for tenant endpoints.

- Building the schema inspects every view's queryset with no request and no tenant; tenant querysets
  raise outside a scope, so generation runs with scoping disabled (it builds querysets to learn their
  model and evaluates none of them).
- A plain APIView with no serializer is documented as returning a JSON object instead of being
  dropped from the schema with a warning; views that can say more use `@extend_schema`."""

from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from rest_framework.generics import GenericAPIView


class TenantSchemaGenerator(SchemaGenerator):
    def get_schema(self, *args, **kwargs):
        with scopes_disabled():
            return super().get_schema(*args, **kwargs)


class TenantAutoSchema(AutoSchema):
    def _get_serializer(self):
        view = self.view
        guessable = isinstance(view, GenericAPIView) or any(
            callable(getattr(view, name, None)) for name in ("get_serializer", "get_serializer_class")
        )
        if not guessable and not hasattr(view, "serializer_class"):
            return OpenApiTypes.OBJECT
        return super()._get_serializer()
