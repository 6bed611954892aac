"""Job pages: the list, and one job's page whose progress bar refreshes itself with htmx."""

from django.shortcuts import get_object_or_404
from django.views.generic import DetailView, ListView

from stratify.tenancy.permissions import Perm
from stratify.tenancy.views import TenantViewMixin

from .models import Job
from .selectors import job_list


class JobListView(TenantViewMixin, ListView):
    permission = Perm.VIEW_JOBS
    template_name = "jobs/job_list.html"
    paginate_by = 50

    def get_queryset(self):
        return job_list(distributor=self.distributor)


class JobDetailView(TenantViewMixin, DetailView):
    permission = Perm.VIEW_JOBS
    context_object_name = "job"

    def get_object(self, queryset=None):
        return get_object_or_404(Job, distributor=self.distributor, pk=self.kwargs["pk"])

    def get_template_names(self):
        # htmx polls for the progress fragment only; a full load gets the page around it.
        return ["jobs/partials/job_progress.html"] if self.request.htmx else ["jobs/job_detail.html"]
