"""Stratification API under /api/v1/tenants/<tenant>/: runs (start, list, detail, scores, publish,
compare) and the model settings (read, replace, history). Manager-only: reads need VIEW_DASHBOARD,
writes MANAGE_MODEL. Views stay thin: logic lives in segments.services and segments.selectors."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from stratify.formatting import money_str
from stratify.tenancy.api import MoneyField, TenantApiView, TenantListApi, TenantScopedMixin, with_detail
from stratify.tenancy.permissions import Perm

from . import selectors, services
from .lookups import RUN
from .models import (
    SCORE_FIELDS,
    CustomerScore,
    ProfitCenter,
    SettingsChange,
    StratificationProfile,
    StratificationRun,
    TierPolicy,
)
from .policies import EDITABLE_FIELDS, ladder_warnings
from .profit_centers import DEFAULT_DIMENSION, DIMENSIONS, NONE, export_record, matrix_dimensions, unknown_dimension
from .vocabulary import SEGMENT_ORDER

RUN_PK = RUN.on("pk")


def _bad_request(error: ValidationError) -> Response:
    """A 400 as every endpoint writes it (docs/API.md, Errors: the first problem in `detail`, each
    field's messages under its name); `errors` repeats them all (what this endpoint answered first)."""
    errors = error.message_dict if hasattr(error, "error_dict") else {"settings": error.messages}
    return Response({**with_detail(errors), "errors": errors}, status=status.HTTP_400_BAD_REQUEST)


class RunSerializer(serializers.ModelSerializer):
    """`id`, `job_id` and `compared_to` are per-tenant numbers (what URLs take), never database ids."""

    id = serializers.IntegerField(source="number", read_only=True)
    job_id = serializers.IntegerField(source="job.number", default=None, read_only=True)
    compared_to = serializers.IntegerField(source="compared_to.number", default=None, read_only=True)
    progress = serializers.SerializerMethodField()
    job_message = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    totals = serializers.SerializerMethodField()
    is_current = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta:
        model = StratificationRun
        fields = [
            "id",
            "status",
            "progress",
            "message",
            "job_id",
            "job_message",
            "settings",
            "as_of",
            "publish_requested",
            "published_at",
            "is_current",
            "compared_to",
            "counts",
            "totals",
            "timings",
            "data_seen",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, run) -> int:
        if run.status == StratificationRun.Status.SUCCEEDED:
            return 100
        return run.job.progress if run.job_id and run.job else 0

    def get_job_message(self, run) -> str:
        return run.job.message if run.job_id and run.job else ""

    def get_counts(self, run) -> dict:
        return {segment: (run.totals.get(segment) or {}).get("count", 0) for segment in SEGMENT_ORDER}

    def get_totals(self, run) -> dict:
        """Per segment: the count, and the money totals as decimal strings with two decimals."""
        return {
            segment: {key: value if key == "count" else money_str(value) for key, value in (figures or {}).items()}
            for segment, figures in (run.totals or {}).items()
        }

    def get_is_current(self, run) -> bool:
        return run.pk == self.context.get("current_run_id")


class RunRequestSerializer(serializers.Serializer):
    settings = serializers.DictField(required=False, default=dict)
    as_of = serializers.DateField(required=False, allow_null=True, default=None)
    publish = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        # A misplaced setting ({"window_days": 0} beside "settings" rather than in it) would otherwise
        # start a run with the saved settings and say nothing.
        unknown = sorted(set(self.initial_data) - set(self.fields)) if hasattr(self.initial_data, "keys") else []
        if unknown:
            raise serializers.ValidationError(
                {
                    name: ["Unknown field: a run takes settings, as_of and publish (settings go inside settings)."]
                    for name in unknown
                }
            )
        return attrs


class ScoreSerializer(serializers.ModelSerializer):
    customer_id = serializers.CharField(source="customer.customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    # Money as decimal strings with two decimals, like every amount the API answers.
    revenue = MoneyField(allow_null=True)
    gross_margin = MoneyField(allow_null=True)
    cost_to_serve = MoneyField(allow_null=True)
    net_profit = MoneyField(allow_null=True)

    class Meta:
        model = CustomerScore
        fields = ["customer_id", "customer_name", *SCORE_FIELDS]
        read_only_fields = fields


class SettingsChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.CharField(source="changed_by.username", default=None, read_only=True)

    class Meta:
        model = SettingsChange
        fields = ["id", "changed_by", "changed_at", "changes", "settings_after"]
        read_only_fields = fields


def _current_run_id(distributor):
    run = selectors.current_run(distributor)
    return run.pk if run else None


class RunListApi(TenantScopedMixin, generics.ListAPIView):
    """GET: the tenant's runs, newest first. POST {settings?, as_of?, publish?}: start a run -> 202."""

    permission = {"GET": Perm.VIEW_DASHBOARD, "POST": Perm.MANAGE_MODEL}
    serializer_class = RunSerializer
    filterset_fields = ["status"]

    def get_queryset(self):
        return selectors.run_list(distributor=self.distributor)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "current_run_id": _current_run_id(self.distributor)}

    def post(self, request, *args, **kwargs):
        data = RunRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = services.run_request(
                distributor=self.distributor,
                actor=request.user,
                overrides=data.validated_data["settings"],
                as_of=data.validated_data["as_of"],
                publish=data.validated_data["publish"],
            )
        except ValidationError as error:
            return _bad_request(error)
        run = selectors.run_get(distributor=self.distributor, number=run.number)
        body = RunSerializer(run, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class RunDetailApi(TenantApiView):
    permission = Perm.VIEW_DASHBOARD
    lookups = (RUN_PK,)

    def get(self, request, *args, **kwargs):
        return Response(RunSerializer(self.run, context={"current_run_id": _current_run_id(self.distributor)}).data)


class RunScoresApi(TenantListApi):
    """The run's scores, by account number; `?segment=core` filters."""

    permission = Perm.VIEW_DASHBOARD
    lookups = (RUN_PK,)
    serializer_class = ScoreSerializer
    filterset_fields = []

    def get_queryset(self):
        segment = self.request.query_params.get("segment") or None
        return selectors.score_list(distributor=self.distributor, run=self.run, segment=segment)


class RunPublishApi(TenantApiView):
    permission = {"POST": Perm.MANAGE_MODEL}
    lookups = (RUN_PK,)

    def post(self, request, *args, **kwargs):
        try:
            run = services.run_publish(self.run, actor=request.user)
        except services.RunError as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(RunSerializer(run, context={"current_run_id": run.pk}).data)


class RunCancelApi(TenantApiView):
    """POST: cancel a queued run, or ask a running one to stop before it publishes; 409 once finished."""

    permission = {"POST": Perm.MANAGE_MODEL}
    lookups = (RUN_PK,)

    @extend_schema(request=None, responses=RunSerializer)
    def post(self, request, *args, **kwargs):
        try:
            run = services.run_cancel(distributor=self.distributor, run=self.run, actor=request.user)
        except services.RunError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(RunSerializer(run, context={"current_run_id": _current_run_id(self.distributor)}).data)


class RunCompareApi(TenantApiView):
    """The run against the published one (or `?other=<run number>`): migration matrix and who moves."""

    permission = Perm.VIEW_DASHBOARD
    lookups = (RUN_PK,)

    def get(self, request, *args, **kwargs):
        other_id = request.query_params.get("other")
        other = None
        if other_id:
            if not str(other_id).isdigit():
                return Response({"detail": "other must be a run number."}, status=status.HTTP_400_BAD_REQUEST)
            other = RUN.resolve(distributor=self.distributor, membership=self.membership, key=other_id)
        return Response(services.run_compare(self.run, other))


class SettingsApi(TenantApiView):
    """GET: effective settings, the tenant's overrides and the schedule. PUT/PATCH {settings?, schedule?}:
    replace (PUT) or update (PATCH) the overrides; 400 naming each invalid field."""

    permission = {"GET": Perm.VIEW_DASHBOARD, "PUT": Perm.MANAGE_MODEL, "PATCH": Perm.MANAGE_MODEL}

    def _body(self):
        profile = selectors.profile_get(distributor=self.distributor)
        return {
            "settings": services.settings_effective(distributor=self.distributor).to_dict(),
            "overrides": profile.settings,
            "schedule": profile.schedule,
        }

    def get(self, request, tenant):
        return Response(self._body())

    def put(self, request, tenant, partial=False):
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            return Response({"detail": "Expected a JSON object."}, status=status.HTTP_400_BAD_REQUEST)
        wrapped = "settings" in body or "schedule" in body
        schedule = body.get("schedule") if wrapped else None
        # {"settings": {...}, "schedule": ...}, or the settings object itself.
        settings = body.get("settings") if wrapped else body
        try:
            if schedule is not None and schedule not in StratificationProfile.Schedule.values:
                raise ValidationError(
                    {"schedule": [f"must be one of {', '.join(StratificationProfile.Schedule.values)}"]}
                )
            if settings is not None:
                services.settings_update(
                    distributor=self.distributor, actor=request.user, settings=settings, partial=partial
                )
            if schedule is not None:
                services.schedule_update(distributor=self.distributor, schedule=schedule)
        except ValidationError as error:
            return _bad_request(error)
        return Response(self._body())

    def patch(self, request, tenant):
        return self.put(request, tenant, partial=True)


class SettingsHistoryApi(TenantListApi):
    permission = Perm.VIEW_DASHBOARD
    serializer_class = SettingsChangeSerializer

    def get_queryset(self):
        return selectors.settings_history(distributor=self.distributor)


class TierPolicySerializer(serializers.ModelSerializer):
    """A tier policy; `ladder_warning` says when its customers work towards a less profitable tier."""

    ladder_warning = serializers.SerializerMethodField()

    class Meta:
        model = TierPolicy
        fields = ["segment", *EDITABLE_FIELDS, "ladder_warning", "updated_at"]
        read_only_fields = ["segment", "ladder_warning", "updated_at"]

    def get_ladder_warning(self, policy) -> str | None:
        return self.context.get("warnings", {}).get(policy.segment)


class TierPolicyApi(TenantApiView):
    """GET: the four tier policies (top tier first). PUT (managers): a list of
    `{"segment": ..., <fields to change>}`; each is validated against the ladder and audited; on
    any error nothing is saved and the answer names `segment` and field."""

    permission = {"GET": Perm.VIEW_CUSTOMERS, "PUT": Perm.MANAGE_MODEL}

    def get(self, request, *args, **kwargs):
        policies = selectors.policy_list(distributor=self.distributor)
        context = {"warnings": ladder_warnings(policies)}
        return Response(TierPolicySerializer(policies, many=True, context=context).data)

    def put(self, request, *args, **kwargs):
        if not isinstance(request.data, list):
            return Response(
                {"detail": 'The body is a list of tiers: [{"segment": "core", ...}, ...].'},
                status=status.HTTP_400_BAD_REQUEST,
            )
        errors = services.policies_update(distributor=self.distributor, actor=request.user, items=request.data)
        if errors:
            return Response(with_detail(errors), status=status.HTTP_400_BAD_REQUEST)
        return self.get(request)


class TierSuggestionsApi(TenantApiView):
    """GET: each tier's targets suggested from the published run (first quartile of the tier's
    segment's customers for at-least targets, last quartile for at-most ones; null with
    `asks_nothing` where that would ask nothing) and how many of the customers shown each target
    (`seen_by`: the tiers whose scorecards show it) would meet it (`meeting` of `of`). Nothing is
    saved: PUT the values to tier-policies/ to keep them."""

    permission = Perm.MANAGE_MODEL

    def get(self, request, *args, **kwargs):
        data = selectors.target_suggestions(distributor=self.distributor)
        run = data["run"]
        return Response(
            {
                "run": run.number if run else None,
                "as_of": run.as_of if run else None,
                "tiers": [
                    {
                        "segment": tier["policy"].segment,
                        "tier_name": tier["policy"].tier_name,
                        "customers": tier["customers"],
                        "targets": [
                            {
                                "field": row["metric"].field,
                                "metric": row["metric"].key,
                                "direction": row["metric"].direction,
                                "current": _spell(row["metric"], row["current"]),
                                "suggested": _spell(row["metric"], row["suggested"]),
                                "asks_nothing": row["asks_nothing"],
                                "seen_by": row["seen_by"],
                                "meeting": row["meeting"],
                                "of": row["of"],
                            }
                            for row in tier["targets"]
                        ],
                    }
                    for tier in data["tiers"]
                ],
            }
        )


def _spell(metric, value):
    """A target as tier-policies/ writes the same field (so a client can PUT it back as it reads
    it): money and shares as decimal strings with two decimals, counts and days as numbers."""
    if value is None:
        return None
    if metric.kind in ("count", "days"):
        return int(value)
    return money_str(value) if metric.kind == "money" else f"{Decimal(str(value)):.2f}"


class ProfitCenterSerializer(serializers.Serializer):
    """One value (or matrix cell) of a run's profit centers: money as decimal strings to the cent."""

    def to_representation(self, row):
        record = export_record(row)
        record["value"] = row.value or NONE
        record["net_margin_pct"] = row.net_margin_pct
        record["net_profit_share"] = row.net_profit_share
        if row.by:
            record = {"value": record["value"], "by": row.by, "by_value": row.by_value or NONE, **record}
            for segment in SEGMENT_ORDER:
                record.pop(f"net_profit_{segment}", None)
        return record


class RunProfitCentersApi(TenantListApi):
    """The run's profit centers of `?dimension=` (default category), by net profit, highest first;
    `&by=segment` (or a second dimension the matrix offers, e.g. `branch` by `category`) gives the
    matrix cells. 400 for an unknown dimension (naming the allowed ones), 409 for a run that has not
    finished (with its status)."""

    permission = Perm.VIEW_DASHBOARD
    lookups = (RUN_PK,)
    serializer_class = ProfitCenterSerializer
    filterset_fields = []

    def get(self, request, *args, **kwargs):
        self.dimension = request.query_params.get("dimension") or DEFAULT_DIMENSION
        problem = unknown_dimension(self.dimension)
        if problem:
            return Response({"detail": problem, "allowed": list(DIMENSIONS)}, status=status.HTTP_400_BAD_REQUEST)
        self.by = request.query_params.get("by") or ""
        if self.by and self.by not in matrix_dimensions(self.dimension):
            allowed = list(matrix_dimensions(self.dimension))
            return Response(
                {
                    "detail": f"by={self.by!r} is not offered for {self.dimension}: use one of {', '.join(allowed)}.",
                    "allowed": allowed,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        if self.run.status != StratificationRun.Status.SUCCEEDED:
            return Response(
                {
                    "detail": f"Run #{self.run.number} has not finished: it is {self.run.status}.",
                    "status": self.run.status,
                },
                status=status.HTTP_409_CONFLICT,
            )
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator: no tenant, no run
            return ProfitCenter.objects.none()
        return selectors.profit_center_list(
            distributor=self.distributor, run=self.run, dimension=self.dimension, by=self.by
        )
