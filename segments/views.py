"""Manager pages (dashboard, model settings with what-if preview, runs, tier policies) and the
customer scorecard (a customer's own, or "view as customer" for staff)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.generic import TemplateView

from sales.models import Customer
from sales.selectors import customer_get
from stratify.tenancy.permissions import Perm, Role
from stratify.tenancy.views import TenantViewMixin

from . import dashboard as pages
from . import policies, selectors, services
from .forms import ModelSettingsForm, TierPolicyForm
from .models import StratificationRun, TierPolicy


class DashboardView(TenantViewMixin, TemplateView):
    """Per-segment figures, the quadrant chart (its points load from `QuadrantDataView`), the whale
    curve and the migration matrix of the published run."""

    permission = Perm.VIEW_DASHBOARD
    template_name = "segments/dashboard.html"

    def get_context_data(self, **kwargs):
        run, previous = pages.published_runs(distributor=self.distributor)
        context = {"run": run, "previous_run": previous}
        if run is not None:
            context.update(
                summary=pages.segment_summary(distributor=self.distributor, run=run),
                whale=pages.whale_curve(distributor=self.distributor, run=run),
                migration=pages.migration_matrix(distributor=self.distributor, run=run),
                colors=pages.SEGMENT_COLORS,
            )
        context["pending_run"] = (
            selectors.run_list(distributor=self.distributor)
            .filter(status__in=[StratificationRun.Status.QUEUED, StratificationRun.Status.RUNNING])
            .first()
        )
        return super().get_context_data(**context, **kwargs)


class QuadrantDataView(TenantViewMixin, TemplateView):
    """JSON of the quadrant chart (every ranked customer's value and profit scores); cached per run."""

    permission = Perm.VIEW_DASHBOARD

    def get(self, request, *args, **kwargs):
        run, _ = pages.published_runs(distributor=self.distributor)
        if run is None:
            return JsonResponse({"datasets": [], "thresholds": {}})
        return HttpResponse(pages.quadrant_json(distributor=self.distributor, run=run), content_type="application/json")


class RunRequestView(TenantViewMixin, TemplateView):
    """POST: re-run the stratification with the current settings and publish it when it succeeds."""

    permission = {"POST": Perm.RUN_JOBS}

    def post(self, request, *args, **kwargs):
        try:
            run = services.run_request(distributor=self.distributor, actor=request.user, publish=True)
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
            return redirect("dashboard", tenant=self.distributor.slug)
        messages.info(request, f"Run #{run.pk} queued; it will be published when it finishes.")
        return redirect("run-detail", tenant=self.distributor.slug, run_id=run.pk)


class ModelSettingsView(TenantViewMixin, TemplateView):
    """Edit the model (save), or try it without saving (preview: a what-if run, never published
    unless the manager publishes it from the run page). History of changes below."""

    permission = {"GET": Perm.MANAGE_MODEL, "POST": Perm.MANAGE_MODEL}
    template_name = "segments/model_settings.html"

    def get_context_data(self, **kwargs):
        if "form" not in kwargs:
            effective = services.settings_effective(distributor=self.distributor).to_dict()
            kwargs["form"] = ModelSettingsForm(initial=ModelSettingsForm.initial_from(effective))
        return super().get_context_data(
            history=list(selectors.settings_history(distributor=self.distributor)[:20]),
            runs=list(selectors.run_list(distributor=self.distributor)[:10]),
            current_run=selectors.current_run(self.distributor),
            factor_labels=pages.FACTOR_LABELS,
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        form = ModelSettingsForm(request.POST)
        action = request.POST.get("action", "save")
        if form.is_valid():
            settings = form.to_settings()
            try:
                if action == "preview":
                    run = services.run_request(
                        distributor=self.distributor, actor=request.user, overrides=settings, publish=False
                    )
                    messages.info(
                        request, f"Preview run #{run.pk} queued: it shows who would move, and publishes nothing."
                    )
                    return redirect("run-detail", tenant=self.distributor.slug, run_id=run.pk)
                services.settings_update(distributor=self.distributor, actor=request.user, settings=settings)
            except ValidationError as error:
                form.add_service_errors(error.message_dict)
            else:
                messages.success(request, "Model settings saved. Re-run the stratification to apply them.")
                return redirect("model-settings", tenant=self.distributor.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class RunDetailView(TenantViewMixin, TemplateView):
    """A run: its status (with the job's progress while it runs), then who moves between segments
    compared with the published run, and a button to publish it."""

    permission = {"GET": Perm.MANAGE_MODEL, "POST": Perm.MANAGE_MODEL}
    template_name = "segments/run_detail.html"
    moves_shown = 200

    def dispatch(self, request, *args, **kwargs):
        self.run_id = kwargs.pop("run_id")
        return super().dispatch(request, *args, **kwargs)

    def get_run(self) -> StratificationRun:
        try:
            return selectors.run_get(distributor=self.distributor, run_id=self.run_id)
        except StratificationRun.DoesNotExist:
            raise Http404("No such run.")

    def get_context_data(self, **kwargs):
        run = self.get_run()
        context = {"run": run, "is_current": False}
        if run.status == StratificationRun.Status.SUCCEEDED:
            current = selectors.current_run(self.distributor)
            context["is_current"] = current is not None and current.pk == run.pk
            other = run.compared_to if context["is_current"] or run.published_at else current
            comparison = services.run_compare(run, other)
            labels = [s for s in pages.SEGMENT_ORDER if s in comparison["matrix"]] + [""]
            context.update(
                comparison=comparison,
                matrix_labels=[(s, pages.SEGMENT_LABELS.get(s, "Not in run")) for s in labels],
                matrix_rows=[
                    (pages.SEGMENT_LABELS.get(a, "Not in run"), [comparison["matrix"][a][b] for b in labels])
                    for a in labels
                ],
                moves=[
                    {
                        **m,
                        "from_label": pages.SEGMENT_LABELS.get(m["from"], "—"),
                        "to_label": pages.SEGMENT_LABELS.get(m["to"], "—"),
                    }
                    for m in comparison["moves"][: self.moves_shown]
                ],
                settings_diff=_settings_diff(other.settings if other else None, run.settings),
            )
        return super().get_context_data(**context, **kwargs)

    def post(self, request, *args, **kwargs):
        run = self.get_run()
        try:
            services.run_publish(run)
        except services.RunError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Run #{run.pk} is published: every page and scorecard now shows it.")
        return redirect("run-detail", tenant=self.distributor.slug, run_id=run.pk)


def _settings_diff(before: dict | None, after: dict) -> list[tuple[str, object, object]]:
    if not before:
        return []
    return [(key, before.get(key), after.get(key)) for key in after if before.get(key) != after.get(key)]


class TierPolicyListView(TenantViewMixin, TemplateView):
    permission = Perm.MANAGE_MODEL
    template_name = "segments/tier_policies.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            policies=policies.policy_list(distributor=self.distributor),
            changes=list(policies.policy_changes(distributor=self.distributor)),
            segment_labels=pages.SEGMENT_LABELS,
            **kwargs,
        )


class TierPolicyEditView(TenantViewMixin, TemplateView):
    permission = {"GET": Perm.MANAGE_MODEL, "POST": Perm.MANAGE_MODEL}
    template_name = "segments/tier_policy_form.html"

    def dispatch(self, request, *args, **kwargs):
        self.segment = kwargs.pop("segment")
        return super().dispatch(request, *args, **kwargs)

    def get_policy(self) -> TierPolicy:
        try:
            return policies.policy_get(distributor=self.distributor, segment=self.segment)
        except TierPolicy.DoesNotExist:
            raise Http404("No such tier.")

    def get(self, request, *args, **kwargs):
        policy = self.get_policy()
        return self.render_to_response(self.context(policy, TierPolicyForm(instance=policy)))

    def context(self, policy, form):
        return self.get_context_data(policy=policy, form=form, segment_label=pages.SEGMENT_LABELS[policy.segment])

    def post(self, request, *args, **kwargs):
        policy = self.get_policy()
        form = TierPolicyForm(request.POST, instance=self.get_policy())
        if form.is_valid():
            try:
                policies.policy_update(policy=policy, actor=request.user, data=form.cleaned_data)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    for message in errors:
                        form.add_error(field if field in form.fields else None, message)
            else:
                messages.success(request, f"Tier {form.cleaned_data['tier_name']} saved.")
                return redirect("tier-policies", tenant=self.distributor.slug)
        return self.render_to_response(self.context(policy, form), status=400)


class ScorecardView(TenantViewMixin, TemplateView):
    """A customer user's own scorecard. Staff opening /scorecard/ are sent to the customer list,
    where each customer has a "view as customer" link."""

    permission = Perm.VIEW_SCORECARD
    template_name = "segments/scorecard.html"

    def get(self, request, *args, **kwargs):
        if self.membership.role != Role.CUSTOMER:
            return redirect("my-customers", tenant=self.distributor.slug)
        if self.membership.customer_id is None:
            raise Http404("This account is not linked to a customer.")
        customer = Customer.objects.get(distributor=self.distributor, pk=self.membership.customer_id)
        return self.render_to_response(self.get_context_data(customer=customer))

    def get_context_data(self, *, customer, **kwargs):
        data = pages.scorecard_data(distributor=self.distributor, customer=customer)
        return super().get_context_data(card=data, customer=customer, **kwargs)


class CustomerScorecardView(ScorecardView):
    """Staff "view as customer": exactly what the customer sees, for a customer the caller may see."""

    permission = Perm.VIEW_CUSTOMERS

    def get(self, request, *args, customer_id, **kwargs):
        try:
            customer = customer_get(distributor=self.distributor, membership=self.membership, customer_id=customer_id)
        except Customer.DoesNotExist:
            raise Http404("No such customer.")
        return self.render_to_response(self.get_context_data(customer=customer, viewing_as=True))
