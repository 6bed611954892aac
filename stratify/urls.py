"""Root URLconf, the composition root: it mounts every app's pages (the one module allowed to import
them all). Tenant pages live under /<tenant>/ and are declared last, so fixed prefixes win (their
names are reserved slugs, see accounts.services.RESERVED_SLUGS)."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

import accounts.urls
import imports.urls
import insights.urls
import sales.urls
import segments.urls
import stratify.jobs.urls
from accounts import views as account_views
from stratify.api import SchemaView

tenant_urlpatterns = [
    *accounts.urls.tenant_urlpatterns,
    *insights.urls.tenant_urlpatterns,
    *segments.urls.tenant_urlpatterns,
    *sales.urls.tenant_urlpatterns,
    *stratify.jobs.urls.tenant_urlpatterns,
    *imports.urls.tenant_urlpatterns,
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include(accounts.urls.urlpatterns)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("stratify.api")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("<slug:tenant>/", include(tenant_urlpatterns)),
]

handler404 = "stratify.api.not_found"
