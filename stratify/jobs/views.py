"""Job pages: the list, and one job's page whose progress bar refreshes itself with htmx."""

from django.views.generic import TemplateView

from stratify.tenancy.lists import TenantListView
from stratify.tenancy.permissions import Perm
from stratify.tenancy.views import TenantViewMixin

from .lookups import JOB
from .selectors import job_list
from .tables import JobTable


class JobListView(TenantListView):
    permission = Perm.VIEW_JOBS
    template_name = "jobs/job_list.html"
    table_class = JobTable
    per_page = 50
    export_name = "jobs"

    def get_queryset(self):
        return job_list(distributor=self.distributor, membership=self.membership)

    def get_table_kwargs(self):
        return {"tenant_slug": self.distributor.slug}


class JobDetailView(TenantViewMixin, TemplateView):
    permission = Perm.VIEW_JOBS
    lookups = (JOB,)

    def get_context_data(self, **kwargs):
        return super().get_context_data(job=self.job, **kwargs)

    def get_template_names(self):
        # htmx polls for the progress fragment only; a full load gets the page around it.
        return ["jobs/partials/job_progress.html"] if self.request.htmx else ["jobs/job_detail.html"]
