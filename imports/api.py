"""Import endpoints under /api/v1/tenants/<tenant>/imports/ (managers: Perm.RUN_JOBS).

POST imports/ (multipart: kind, file, optional mapping JSON, date_format and restratify) -> 202 with the job;
GET imports/<id>/ -> status, progress, counts and errors (`?format=csv`: the errors as CSV);
GET imports/<id>/errors.csv -> the errors as CSV;
POST imports/<id>/cancel/ -> 200 with the import (queued: failed at once; running: stops at its next
check and writes nothing), 409 once it has finished."""

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from stratify.exports import csv_attachment
from stratify.jobs.services import JobNotCancellable
from stratify.tenancy.api import TenantApiView
from stratify.tenancy.pagination import BoundedPageNumberPagination
from stratify.tenancy.permissions import Perm

from .lookups import IMPORT
from .selectors import import_list
from .services import (
    errors_csv_download,
    import_cancel,
    import_check_params,
    import_error_groups,
    import_errors,
    import_start,
    upload_save,
)
from .uploads import limit_upload, too_large_message


class CsvRenderer(BaseRenderer):
    """Lets `?format=csv` through DRF's content negotiation; the view builds the CSV itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str | bytes):
            return data
        detail = data.get("detail", "") if isinstance(data, dict) else data
        return f"error\n{detail}\n"


def import_payload(job, request=None) -> dict:
    result = job.result or {}
    errors, count = import_errors(job)
    params = job.params or {}
    csv_url = reverse("api-import-errors", kwargs={"tenant": job.distributor.slug, "pk": job.number})
    return {
        "id": job.number,  # per tenant (imports share the job numbering), as URLs take it
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "kind": params.get("import_kind"),
        "filename": params.get("filename", ""),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "rows": result.get("rows"),
        "created": result.get("created", {}),
        "updated": result.get("updated", {}),
        "unchanged": result.get("unchanged", {}),
        "seconds": result.get("seconds"),
        "mapping": result.get("mapping", params.get("mapping") or {}),
        "cancelled": bool(result.get("cancelled")),
        "cancel_requested": job.cancel_requested_at is not None,
        "date_format": result.get("date_format", params.get("date_format")),
        "first_date": result.get("first_date"),
        "last_date": result.get("last_date"),
        "restratify_job": result.get("restratify_job"),
        "errors": errors,
        "error_count": count,
        "error_groups": import_error_groups(job),
        "errors_csv": request.build_absolute_uri(csv_url) if request is not None else csv_url,
    }


def _csv_response(job) -> HttpResponse:
    return csv_attachment(errors_csv_download(job), f"import-{job.number}-errors.csv")


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "upload_too_large"


class ImportListApi(TenantApiView):
    """GET: the tenant's imports, newest first, paginated as every list (`?page=`, `?page_size=`).
    POST: upload a file (multipart) to import: 202 with the job."""

    permission = {"GET": Perm.RUN_JOBS, "POST": Perm.RUN_JOBS}
    parser_classes = [MultiPartParser, FormParser]

    def initial(self, request, *args, **kwargs):
        # Before authentication: session auth's CSRF check reads the body, and the upload handlers
        # can only change before it is read (a body over the limit is refused without reading it).
        if request.method == "POST" and not limit_upload(request._request):
            raise UploadTooLarge(too_large_message())
        super().initial(request, *args, **kwargs)

    @extend_schema(operation_id="tenants_imports_list")
    def get(self, request, tenant):
        pages = BoundedPageNumberPagination()  # the API's one pagination (this view is no generic list)
        jobs = pages.paginate_queryset(
            import_list(distributor=self.distributor).select_related("distributor"), request, view=self
        )
        return pages.get_paginated_response([import_payload(job, request) for job in jobs])

    @extend_schema(operation_id="tenants_imports_create")
    def post(self, request, tenant):
        kind = request.data.get("kind", "")
        uploaded = request.FILES.get("file")
        if getattr(request._request, "upload_too_large", False):
            raise UploadTooLarge(too_large_message())
        if uploaded is None:
            return Response({"file": ["Send the file as multipart field `file`."]}, status=400)
        try:
            mapping, date_format = request.data.get("mapping"), request.data.get("date_format")
            import_check_params(kind=kind, mapping=mapping, date_format=date_format)
            _, path = upload_save(distributor=self.distributor, uploaded=uploaded, kind=kind)
            job = import_start(
                distributor=self.distributor,
                actor=request.user,
                kind=kind,
                path=path,
                mapping=request.data.get("mapping") or None,
                date_format=request.data.get("date_format") or None,
                filename=uploaded.name,
                restratify=str(request.data.get("restratify", "")).lower() in {"1", "true", "yes", "on"},
            )
        except ValidationError as error:
            return Response(error.message_dict, status=400)
        return Response(import_payload(job, request), status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(TenantApiView):
    permission = Perm.RUN_JOBS
    lookups = (IMPORT,)
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(operation_id="tenants_imports_retrieve")
    def get(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csv":
            return _csv_response(self.job)
        return Response(import_payload(self.job, request))


class ImportErrorsCsvApi(TenantApiView):
    permission = Perm.RUN_JOBS
    lookups = (IMPORT,)
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(operation_id="tenants_imports_errors_csv")
    def get(self, request, *args, **kwargs):
        return _csv_response(self.job)


class ImportCancelApi(TenantApiView):
    permission = {"POST": Perm.RUN_JOBS}
    lookups = (IMPORT,)

    @extend_schema(operation_id="tenants_imports_cancel", request=None)
    def post(self, request, *args, **kwargs):
        try:
            job = import_cancel(distributor=self.distributor, job_id=self.job.pk, actor=request.user)
        except JobNotCancellable:
            return Response({"detail": "The import has already finished."}, status=status.HTTP_409_CONFLICT)
        return Response(import_payload(job, request))
