"""API of alerts (mounted by stratify.api):

* `GET alerts/` — the caller's alerts (reps: their customers'; managers: all; customers: 403), biggest
  money at stake first; filters `kind`, `status`, `customer_id`, `rep`, `severity` (400 naming the
  allowed values for an unknown one); each alert with `id`, `kind`, `severity`, `subject_type`,
  `subject`, `customer_id` (null for distributor-wide kinds), `amount` (decimal string), `message`,
  `figures`, `status`, `run` (the run that last confirmed it), `raised_run`, `rep`;
* `POST alerts/<id>/status/` `{"status": "acknowledged"|"done"|"dismissed", "note": "..."}` (managers
  may also reopen: "open"); 400 saying why when the life cycle forbids it; a dismissal needs a note;
* `GET/PATCH alerts/settings/` — the tenant's alert thresholds (PATCH: managers; 400 naming the field)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from stratify.tenancy.api import MoneyField, TenantApiView, TenantListApi
from stratify.tenancy.permissions import Perm

from .lookups import ALERT
from .models import Alert
from .selectors import FILTERS, alert_list, filter_errors, settings_body, settings_for
from .services import AlertError, alert_set_status, settings_update


class AlertSerializer(serializers.ModelSerializer):
    customer_id = serializers.CharField(source="customer.customer_id", default=None, read_only=True)
    amount = MoneyField()
    run = serializers.IntegerField(source="last_run.number", read_only=True)
    raised_run = serializers.IntegerField(source="raised_run.number", read_only=True)
    rep = serializers.CharField(source="rep.rep_id", default=None, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id", "kind", "severity", "subject_type", "subject", "customer_id", "amount", "message", "figures",
            "status", "run", "raised_run", "rep", "segment", "status_changed_at",
        ]  # fmt: skip


class AlertListApi(TenantListApi):
    permission = Perm.VIEW_CUSTOMERS
    serializer_class = AlertSerializer

    def get_queryset(self):
        filters = {name: self.request.query_params.get(name) for name in FILTERS[:5]}
        errors = filter_errors(filters)
        if errors:
            raise ValidationError(errors)
        return alert_list(distributor=self.distributor, membership=self.membership, filters=filters).select_related(
            "customer", "last_run", "raised_run", "rep"
        )


class StatusSerializer(serializers.Serializer):
    status = serializers.CharField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class AlertStatusApi(TenantApiView):
    permission = {"POST": Perm.VIEW_CUSTOMERS}
    lookups = (ALERT,)

    @extend_schema(request=StatusSerializer, responses=AlertSerializer)
    def post(self, request, *args, **kwargs):
        body = StatusSerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        try:
            alert = alert_set_status(
                alert=self.alert,
                status=body.validated_data["status"],
                note=body.validated_data["note"],
                actor=request.user,
                membership=self.membership,
            )
        except AlertError as error:
            return Response({"detail": str(error), error.field: [str(error)]}, status=status.HTTP_400_BAD_REQUEST)
        alert = Alert.objects.select_related("customer", "last_run", "raised_run", "rep").get(
            distributor=self.distributor, pk=alert.pk
        )
        return Response(AlertSerializer(alert).data)


class AlertSettingsApi(TenantApiView):
    permission = {"GET": Perm.VIEW_CUSTOMERS, "PATCH": Perm.MANAGE_MODEL}

    def get(self, request, *args, **kwargs):
        return Response(settings_body(settings_for(distributor=self.distributor)))

    def patch(self, request, *args, **kwargs):
        if not isinstance(request.data, dict):
            return Response({"detail": "Expected a JSON object."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            row = settings_update(distributor=self.distributor, data=dict(request.data), actor=request.user)
        except AlertError as error:
            return Response({"detail": str(error), **error.errors}, status=status.HTTP_400_BAD_REQUEST)
        return Response(settings_body(row))
