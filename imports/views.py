"""Import pages: upload a file, check and correct the detected mapping against the first rows,
start the import, and follow it (progress, summary, errors, errors as CSV)."""

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from stratify.exports import csv_attachment
from stratify.jobs.models import Job
from stratify.jobs.services import JobNotCancellable
from stratify.published import published_window
from stratify.tenancy.lists import TenantListView
from stratify.tenancy.permissions import Perm
from stratify.tenancy.views import TenantViewMixin

from .errors import ImportFailed
from .formats import KIND_LABELS, get_kind
from .forms import MappingForm, UploadForm
from .lookups import IMPORT, UPLOAD
from .selectors import import_follow_up, import_get, import_list
from .services import (
    errors_csv_download,
    import_cancel,
    import_error_groups,
    import_errors,
    import_preview,
    import_start,
    import_upload_id,
    upload_save,
)
from .tables import ImportTable
from .uploads import limit_upload, too_large_message
from .validation import ISO_FORMAT, ambiguous_dates_message, not_iso_dates_message, resolve_plan


@method_decorator(csrf_exempt, name="dispatch")  # CSRF is checked in post(), once the upload limit is set
class ImportListView(TenantListView):
    """The upload form above the tenant's imports, newest first."""

    permission = {"GET": Perm.RUN_JOBS, "POST": Perm.RUN_JOBS}
    template_name = "imports/import_list.html"
    table_class = ImportTable
    per_page = 20
    export_name = "imports"

    def get_queryset(self):
        return import_list(distributor=self.distributor)

    def get_table_kwargs(self):
        return {"tenant_slug": self.distributor.slug}

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", UploadForm())
        return super().get_context_data(**kwargs)

    def _form_page(self, form=None, upload_error=None):
        """The page again, with the upload form's errors (413 when the file was too large)."""
        self.prepare_rows()
        context = self.get_context_data(form=form or UploadForm(), upload_error=upload_error)
        return self.render_to_response(context, status=413 if upload_error else 200)

    def post(self, request):
        # The upload handlers can only change before the body is read, and CSRF's check reads it: as
        # Django documents, the view is csrf_exempt and the real work csrf_protect-ed behind the limit.
        if not limit_upload(request):
            return self._too_large(request)
        return csrf_protect(self._post)(request)

    def _too_large(self, request):
        return self._form_page(upload_error=too_large_message())

    def _post(self, request):
        form = UploadForm(request.POST, request.FILES)
        if request.upload_too_large:
            return self._too_large(request)
        if form.is_valid():
            try:
                upload_id, _ = upload_save(
                    distributor=self.distributor, uploaded=form.cleaned_data["file"], kind=form.cleaned_data["kind"]
                )
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                return redirect("import-preview", tenant=self.distributor.slug, upload=upload_id)
        return self._form_page(form=form)


class ImportPreviewView(TenantViewMixin, View):
    """The mapping step: detected mapping and first rows; POST starts the import."""

    permission = {"GET": Perm.RUN_JOBS, "POST": Perm.RUN_JOBS}
    lookups = (UPLOAD,)

    def get(self, request, form=None, preview=None):
        upload, meta, path = self.upload
        kind = get_kind(meta["kind"])
        context = {"meta": meta, "kind": kind, "upload": upload}
        try:
            preview = preview or import_preview(distributor=self.distributor, kind=kind.name, path=path)
        except ImportFailed as failure:
            context["failure"] = str(failure)
            return render(request, "imports/import_preview.html", context, status=200)
        retried = self._retried(upload)
        if form is None:
            initial = {f"map_{name}": source for name, source in preview["mapping"].items()}
            initial["date_format"] = preview["date_format"]
            if retried is not None:  # "Correct and retry": start from what the failed import used
                params = retried.params or {}
                initial.update({f"map_{k}": v for k, v in (params.get("mapping") or {}).items() if v})
                initial["date_format"] = params.get("date_format") or preview["date_format"]
                initial["restratify"] = params.get("restratify", False)
            form = MappingForm(kind=kind, headers=preview["headers"], initial=initial)
        context.update(preview=preview, form=form, retried=retried)
        return render(request, "imports/import_preview.html", context)

    def _retried(self, upload):
        """The failed import of this upload being corrected (`?retry=<import>`), if any."""
        try:
            job = import_get(distributor=self.distributor, number=int(self.request.GET.get("retry", "")))
        except (ValueError, Job.DoesNotExist):
            return None
        return job if job.status == Job.Status.FAILED and import_upload_id(job) == upload else None

    def post(self, request):
        upload, meta, path = self.upload
        kind = get_kind(meta["kind"])
        try:
            preview = import_preview(distributor=self.distributor, kind=kind.name, path=path)
        except ImportFailed:
            return self.get(request)
        form = MappingForm(request.POST, kind=kind, headers=preview["headers"])
        if not form.is_valid():
            return self.get(request, form=form, preview=preview)
        guess = preview["date_guess"]
        # Dates that are not ISO need a format chosen (the field is pre-filled with the detected one):
        # said here rather than by a failed job.
        if (
            guess
            and not form.cleaned_data["date_format"]
            and guess["candidates"]
            and ISO_FORMAT not in guess["candidates"]
        ):
            if guess["ambiguous"]:
                form.add_error("date_format", ambiguous_dates_message(guess["column"], _Guess(guess)))
            else:
                form.add_error("date_format", not_iso_dates_message(guess["column"], _Guess(guess)))
            return self.get(request, form=form, preview=preview)
        try:  # a mapping that cannot work is corrected here rather than reported by a failed job
            resolve_plan(kind, preview["headers"], form.mapping(), form.cleaned_data["date_format"])
        except ImportFailed as failure:
            form.add_error(None, str(failure))
            return self.get(request, form=form, preview=preview)
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
            return self.get(request, form=form, preview=preview)
        # No "has started" banner: the import's page says what it is doing (it may have failed by then).
        return redirect("import-detail", tenant=self.distributor.slug, pk=job.number)


class ImportDetailView(TenantViewMixin, View):
    permission = Perm.RUN_JOBS
    lookups = (IMPORT,)

    def get(self, request):
        job = self.job
        errors, error_count = import_errors(job)
        result = job.result or {}
        entities = [*result.get("created", {}), *result.get("updated", {}), *result.get("unchanged", {})]
        counts = [
            (entity, *(result.get(what, {}).get(entity, "—") for what in ("created", "updated", "unchanged")))
            for entity in dict.fromkeys(entities)
        ]
        follow_up = import_follow_up(job=job)
        context = {
            "job": job,
            "kind_label": KIND_LABELS.get(job.params.get("import_kind"), job.params.get("import_kind")),
            "errors": errors,
            "error_count": error_count,
            "error_groups": import_error_groups(job),
            "result": result,
            "counts": counts,
            "retry_upload": import_upload_id(job) if job.status == Job.Status.FAILED else None,
            "follow_up": follow_up,
            "follow_up_run": (follow_up.result or {}).get("run_id") if follow_up else None,
            "outside": _outside_window(job, result) if job.status == Job.Status.SUCCEEDED else None,
        }
        template = "imports/partials/import_status.html" if request.htmx else "imports/import_detail.html"
        return render(request, template, context)


class _Guess:
    """The preview's date guess (a dict) as `ambiguous_dates_message` and `not_iso_dates_message` read it."""

    def __init__(self, guess: dict):
        self.sample, self.candidates, self.format = guess["sample"], guess["candidates"], guess["format"]


def _outside_window(job, result: dict) -> dict | None:
    """When none of the imported lines falls in the published run's window: the file's dates and that
    window (the page offers a run as of the file's last date)."""
    first, last = result.get("first_date"), result.get("last_date")
    if not (first and last):
        return None
    window = published_window(job.distributor)
    if window is None:
        return None
    first, last = date.fromisoformat(first), date.fromisoformat(last)
    if last < window.start or first > window.as_of:
        return {"first": first, "last": last, "window": window, "before": last < window.start}
    return None


class ImportCancelView(TenantViewMixin, View):
    """POST: cancel a queued or running import (from its page or the job page)."""

    permission = {"POST": Perm.RUN_JOBS}
    lookups = (IMPORT,)

    def post(self, request):
        try:
            job = import_cancel(distributor=self.distributor, job_id=self.job.pk, actor=request.user)
        except JobNotCancellable:
            messages.warning(request, "The import has already finished.")
        else:
            if job.status == Job.Status.RUNNING:
                messages.info(request, "The import will stop at its next check; nothing will be written.")
            else:
                messages.info(request, "The import was cancelled.")
        return redirect("import-detail", tenant=self.distributor.slug, pk=self.job.number)


class ImportErrorsCsvView(TenantViewMixin, View):
    permission = Perm.RUN_JOBS
    lookups = (IMPORT,)

    def get(self, request):
        return csv_attachment(errors_csv_download(self.job), f"import-{self.job.number}-errors.csv")
