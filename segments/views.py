"""Manager dashboard and customer scorecard."""

from django.views.generic import TemplateView

from stratify.tenancy.permissions import Perm
from stratify.tenancy.views import TenantViewMixin


class DashboardView(TenantViewMixin, TemplateView):
    permission = Perm.VIEW_DASHBOARD
    template_name = "segments/dashboard.html"


class ScorecardView(TenantViewMixin, TemplateView):
    permission = Perm.VIEW_SCORECARD
    template_name = "segments/scorecard.html"
