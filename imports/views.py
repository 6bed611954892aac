"""Import pages: upload a file, check and correct the detected mapping against the first rows,
start the import, and follow it (progress, summary, errors, errors as CSV)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from stratify.jobs.models import Job
from stratify.jobs.services import JobNotCancellable
from stratify.tenancy.permissions import Perm
from stratify.tenancy.views import TenantViewMixin

from .errors import ImportFailed
from .formats import get_kind
from .forms import MappingForm, UploadForm
from .selectors import import_get, import_list
from .services import (
    errors_csv,
    import_cancel,
    import_errors,
    import_preview,
    import_start,
    upload_get,
    upload_save,
)
from .uploads import limit_upload, too_large_message
from .validation import resolve_plan


@method_decorator(csrf_exempt, name="dispatch")  # CSRF is checked in post(), once the upload limit is set
class ImportListView(TenantViewMixin, View):
    permission = {"GET": Perm.RUN_JOBS, "POST": Perm.RUN_JOBS}

    def get(self, request, form=None, upload_error=None):
        jobs = import_list(distributor=self.distributor)[:20]
        context = {"form": form or UploadForm(), "jobs": jobs, "upload_error": upload_error}
        return render(request, "imports/import_list.html", context, status=413 if upload_error else 200)

    def post(self, request):
        # The upload handlers can only change before the body is read, and CSRF's check reads it: as
        # Django documents, the view is csrf_exempt and the real work csrf_protect-ed behind the limit.
        if not limit_upload(request):
            return self._too_large(request)
        return csrf_protect(self._post)(request)

    def _too_large(self, request):
        return self.get(request, upload_error=too_large_message())

    def _post(self, request):
        form = UploadForm(request.POST, request.FILES)
        if request.upload_too_large:
            return self._too_large(request)
        if not form.is_valid():
            return self.get(request, form=form)
        try:
            upload_id, _ = upload_save(
                distributor=self.distributor, uploaded=form.cleaned_data["file"], kind=form.cleaned_data["kind"]
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
            return self.get(request, form=form)
        return redirect("import-preview", tenant=self.distributor.slug, upload=upload_id)


class ImportPreviewView(TenantViewMixin, View):
    """The mapping step: detected mapping and first rows; POST starts the import."""

    permission = {"GET": Perm.RUN_JOBS, "POST": Perm.RUN_JOBS}

    def _upload(self, upload):
        try:
            return upload_get(distributor=self.distributor, upload_id=upload)
        except LookupError:
            raise Http404("No such upload.")

    def get(self, request, upload, form=None, preview=None):
        meta, path = self._upload(upload)
        kind = get_kind(meta["kind"])
        context = {"meta": meta, "kind": kind, "upload": upload}
        try:
            preview = preview or import_preview(distributor=self.distributor, kind=kind.name, path=path)
        except ImportFailed as failure:
            context["failure"] = str(failure)
            return render(request, "imports/import_preview.html", context, status=200)
        if form is None:
            initial = {f"map_{name}": source for name, source in preview["mapping"].items()}
            initial["date_format"] = preview["date_format"]
            form = MappingForm(kind=kind, headers=preview["headers"], initial=initial)
        context.update(preview=preview, form=form)
        return render(request, "imports/import_preview.html", context)

    def post(self, request, upload):
        meta, path = self._upload(upload)
        kind = get_kind(meta["kind"])
        try:
            preview = import_preview(distributor=self.distributor, kind=kind.name, path=path)
        except ImportFailed:
            return self.get(request, upload)
        form = MappingForm(request.POST, kind=kind, headers=preview["headers"])
        if not form.is_valid():
            return self.get(request, upload, form=form, preview=preview)
        try:  # a mapping that cannot work is corrected here rather than reported by a failed job
            resolve_plan(kind, preview["headers"], form.mapping(), form.cleaned_data["date_format"])
        except ImportFailed as failure:
            form.add_error(None, str(failure))
            return self.get(request, upload, form=form, preview=preview)
        try:
            job = import_start(
                distributor=self.distributor,
                actor=request.user,
                kind=kind.name,
                path=path,
                mapping=form.mapping(),
                date_format=form.cleaned_data["date_format"],
                filename=meta.get("filename", ""),
                restratify=form.cleaned_data["restratify"],
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
            return self.get(request, upload, form=form, preview=preview)
        messages.info(request, "The import has started.")
        return redirect("import-detail", tenant=self.distributor.slug, pk=job.pk)


def _job(view, pk) -> Job:
    try:
        return import_get(distributor=view.distributor, job_id=pk)
    except Job.DoesNotExist:
        raise Http404("No such import.")


class ImportDetailView(TenantViewMixin, View):
    permission = Perm.RUN_JOBS

    def get(self, request, pk):
        job = _job(self, pk)
        errors, error_count = import_errors(job)
        result = job.result or {}
        entities = [*result.get("created", {}), *result.get("updated", {}), *result.get("unchanged", {})]
        counts = [
            (entity, *(result.get(what, {}).get(entity, "—") for what in ("created", "updated", "unchanged")))
            for entity in dict.fromkeys(entities)
        ]
        context = {"job": job, "errors": errors, "error_count": error_count, "result": result, "counts": counts}
        template = "imports/partials/import_status.html" if request.htmx else "imports/import_detail.html"
        return render(request, template, context)


class ImportCancelView(TenantViewMixin, View):
    """POST: cancel a queued or running import (from its page or the job page)."""

    permission = {"POST": Perm.RUN_JOBS}

    def post(self, request, pk):
        try:
            job = import_cancel(distributor=self.distributor, job_id=pk, actor=request.user)
        except Job.DoesNotExist:
            raise Http404("No such import.")
        except JobNotCancellable:
            messages.warning(request, "The import has already finished.")
        else:
            if job.status == Job.Status.RUNNING:
                messages.info(request, "The import will stop at its next check; nothing will be written.")
            else:
                messages.info(request, "The import was cancelled.")
        return redirect("import-detail", tenant=self.distributor.slug, pk=pk)


class ImportErrorsCsvView(TenantViewMixin, View):
    permission = Perm.RUN_JOBS

    def get(self, request, pk):
        job = _job(self, pk)
        response = HttpResponse(errors_csv(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response
