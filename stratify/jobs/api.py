from rest_framework import serializers

from stratify.tenancy.api import TenantListApi, TenantRetrieveApi
from stratify.tenancy.permissions import Perm

from .models import Job
from .selectors import job_list, public_params


class JobSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="number", read_only=True)  # per tenant, as URLs take it
    duration_seconds = serializers.FloatField(read_only=True)
    params = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "params",
            "result",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "duration_seconds",
        ]
        read_only_fields = fields

    def get_params(self, job) -> dict:
        return public_params(job)


class JobListApi(TenantListApi):
    permission = Perm.VIEW_JOBS
    serializer_class = JobSerializer
    filterset_fields = ["kind", "status"]

    def get_queryset(self):
        return job_list(distributor=self.distributor, membership=self.membership)


class JobDetailApi(TenantRetrieveApi):
    permission = Perm.VIEW_JOBS
    serializer_class = JobSerializer
    lookup_field, lookup_url_kwarg = "number", "pk"  # the URL's `pk` carries the per-tenant number

    def get_queryset(self):
        return job_list(distributor=self.distributor, membership=self.membership)
