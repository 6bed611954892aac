"""Manager pages of the write side: model settings with what-if preview, runs (request, detail,
publish) and tier policies. (The dashboard and scorecards are the read side's: see `insights`.)"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from stratify.formatting import format_date, format_datetime
from stratify.tenancy.permissions import Perm
from stratify.tenancy.views import TenantViewMixin

from . import selectors, services
from .forms import ModelSettingsForm, QualificationEndForm, RunForm, TierPolicyForm, policy_change_rows
from .lookups import RUN, TIER_POLICY
from .models import StratificationProfile, StratificationRun
from .policies import METRICS, ladder_warnings, next_tier
from .tier_text import format_figure
from .vocabulary import FACTOR_LABELS, SEGMENT_LABELS, SEGMENT_ORDER, settings_diff


class RunRequestView(TenantViewMixin, TemplateView):
    """POST: run the stratification with the saved settings and publish it when it succeeds (the
    dashboard's re-run). Optional fields (`RunForm`): `as_of` (default: the latest invoice date),
    `window_days` (default: the saved window), `action=preview` for a what-if run published by nobody."""

    permission = {"POST": Perm.RUN_JOBS}

    def post(self, request, *args, **kwargs):
        form = RunForm(request.POST)
        back = "model-settings" if request.POST.get("action") else "dashboard"
        if not form.is_valid():
            problems = [
                f"{form.fields[k].label if k in form.fields else k}: {' '.join(v)}" for k, v in form.errors.items()
            ]
            messages.error(request, "Nothing was run. " + "; ".join(problems))
            return redirect(back, tenant=self.distributor.slug)
        try:
            run = services.run_request(
                distributor=self.distributor,
                actor=request.user,
                overrides=form.overrides(),
                as_of=form.cleaned_data.get("as_of"),
                publish=form.publish,
            )
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
            return redirect(back, tenant=self.distributor.slug)
        as_of = form.cleaned_data.get("as_of")
        when = f" as of {format_date(as_of, self.distributor)}" if as_of else ""
        if form.publish:
            messages.info(request, f"Run #{run.number}{when} queued; it will be published when it finishes.")
        else:
            messages.info(
                request, f"Preview run #{run.number}{when} queued: it shows who would move, and publishes nothing."
            )
        return redirect("run-detail", tenant=self.distributor.slug, run_id=run.number)


class ModelSettingsView(TenantViewMixin, TemplateView):
    """Edit the model (save), or try it without saving (preview: a what-if run, never published
    unless the manager publishes it from the run page). History of changes below."""

    permission = {"GET": Perm.MANAGE_MODEL, "POST": Perm.MANAGE_MODEL}
    template_name = "segments/model_settings.html"

    def get_context_data(self, **kwargs):
        if "form" not in kwargs:
            effective = services.settings_effective(distributor=self.distributor).to_dict()
            kwargs["form"] = ModelSettingsForm(initial=ModelSettingsForm.initial_from(effective))
        if "run_form" not in kwargs:
            effective = services.settings_effective(distributor=self.distributor)
            latest = selectors.latest_invoice_date(distributor=self.distributor)
            kwargs["run_form"] = RunForm(initial={"as_of": latest, "window_days": effective.window_days})
        history = [
            (change, settings_diff(*({k: pair[i] for k, pair in change.changes.items()} for i in (0, 1))))
            for change in selectors.settings_history(distributor=self.distributor)[:20]
        ]
        return super().get_context_data(
            history=history,
            schedule=selectors.profile_get(distributor=self.distributor).schedule,
            schedule_choices=StratificationProfile.Schedule.choices,
            runs=list(selectors.run_list(distributor=self.distributor)[:10]),
            current_run=selectors.current_run(self.distributor),
            factor_labels=FACTOR_LABELS,
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "save")
        if action == "schedule":
            return self.post_schedule(request)
        form = ModelSettingsForm(request.POST)
        if form.is_valid():
            settings = form.to_settings()
            try:
                if action == "preview":
                    run = services.run_request(
                        distributor=self.distributor, actor=request.user, overrides=settings, publish=False
                    )
                    messages.info(
                        request, f"Preview run #{run.number} queued: it shows who would move, and publishes nothing."
                    )
                    return redirect("run-detail", tenant=self.distributor.slug, run_id=run.number)
                services.settings_update(distributor=self.distributor, actor=request.user, settings=settings)
            except ValidationError as error:
                form.add_service_errors(error.message_dict)
            else:
                messages.success(request, "Model settings saved. Re-run the stratification to apply them.")
                return redirect("model-settings", tenant=self.distributor.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def post_schedule(self, request):
        """The schedule (off, weekly, monthly): its own small form on the page, saved on its own."""
        try:
            profile = services.schedule_update(distributor=self.distributor, schedule=request.POST.get("schedule", ""))
        except ValidationError:
            messages.error(request, "Choose a schedule: off, weekly or monthly.")
        else:
            messages.success(request, f"Schedule saved: {profile.get_schedule_display().lower()}.")
        return redirect("model-settings", tenant=self.distributor.slug)


class RunDetailView(TenantViewMixin, TemplateView):
    """A run: its status (with the job's progress while it runs), then who moves between segments
    compared with the published run, and a button to publish it."""

    permission = {"GET": Perm.MANAGE_MODEL, "POST": Perm.MANAGE_MODEL}
    lookups = (RUN,)
    template_name = "segments/run_detail.html"
    moves_shown = 200

    def get_context_data(self, **kwargs):
        run = self.run
        context = {"run": run, "is_current": False}
        if run.status == StratificationRun.Status.SUCCEEDED:
            current = selectors.current_run(self.distributor)
            context["is_current"] = current is not None and current.pk == run.pk
            published = context["is_current"] or run.published_at is not None
            # A published run against the one it replaced (none for the first), a preview against the published one.
            other = run.compared_to if published else current
            comparison = services.run_compare(run, other, published_if_none=not published)
            labels = [s for s in SEGMENT_ORDER if s in comparison["matrix"]] + [""]
            context.update(
                comparison=comparison,
                matrix_labels=[(s, SEGMENT_LABELS.get(s, "Not in run")) for s in labels],
                matrix_rows=[
                    (SEGMENT_LABELS.get(a, "Not in run"), [comparison["matrix"][a][b] for b in labels]) for a in labels
                ],
                moves=[
                    {
                        **m,
                        "from_label": SEGMENT_LABELS.get(m["from"], "—"),
                        "to_label": SEGMENT_LABELS.get(m["to"], "—"),
                    }
                    for m in comparison["moves"][: self.moves_shown]
                ],
                settings_diff=settings_diff(other.settings, run.settings) if other and other.settings else [],
                money=selectors.run_totals_compared(run, other) if other is not None and other.totals else None,
            )
            if run.published_at is not None:
                changes = selectors.tier_changes(distributor=self.distributor, run=run)
                context.update(
                    tier_changes=changes[: self.moves_shown],
                    tier_changes_count=len(changes),
                    tier_changes_waiting=sum(1 for c in changes if c["emails"] and not c["notices"]),
                )
        return super().get_context_data(**context, **kwargs)

    def post(self, request, *args, **kwargs):
        run = self.run
        try:
            published = services.run_publish(run, actor=request.user)
        except services.RunError as error:
            messages.error(request, str(error))
        else:
            adopted = (
                " Its settings are now the model's (see the history of changes)." if published.settings_adopted else ""
            )
            messages.success(
                request, f"Run #{run.number} is published: every page and scorecard now shows it.{adopted}"
            )
        return redirect("run-detail", tenant=self.distributor.slug, run_id=run.number)


class RunCancelView(TenantViewMixin, View):
    """POST: cancel a queued run, or ask a running one to stop before it publishes (from its page)."""

    permission = {"POST": Perm.MANAGE_MODEL}
    lookups = (RUN,)

    def post(self, request, *args, **kwargs):
        try:
            run = services.run_cancel(distributor=self.distributor, run=self.run, actor=request.user)
        except services.RunError as error:
            messages.warning(request, str(error))
        else:
            if run.status == StratificationRun.Status.FAILED:
                messages.info(request, f"Run #{run.number} was cancelled; the published run is unchanged.")
            else:
                messages.info(
                    request, f"Run #{run.number} will stop at its next step; the published run stays as it is."
                )
        return redirect("run-detail", tenant=self.distributor.slug, run_id=self.run.number)


class TierPolicyListView(TenantViewMixin, TemplateView):
    """The tiers: each one's benefits, ladder and targets, and, from the published run, how many
    customers are in it, how many meet each target they are shown and how many are within 10% of
    them (the ones to call). POST: the end of the qualification period (empty: the next scheduled run)."""

    permission = {"GET": Perm.MANAGE_MODEL, "POST": Perm.MANAGE_MODEL}
    template_name = "segments/tier_policies.html"

    def get_context_data(self, **kwargs):
        policies = selectors.policy_list(distributor=self.distributor)
        overview = selectors.tier_overview(distributor=self.distributor)
        warnings = ladder_warnings(policies)
        run = selectors.current_run(self.distributor)
        tiers = [
            {
                "policy": p,
                "towards": next_tier(policies, p),
                "overview": overview.get(p.segment),
                "warning": warnings.get(p.segment),
                "targets": [(m, getattr(p, m.field)) for m in METRICS if getattr(p, m.field) is not None],
            }
            for p in policies
        ]
        return super().get_context_data(
            policies=policies,
            tiers=tiers,
            run=run,
            period_end=selectors.qualification_end(distributor=self.distributor, run=run) if run else None,
            qualification_end=selectors.profile_get(distributor=self.distributor).qualification_end,
            changes=policy_change_rows(
                selectors.policy_changes(distributor=self.distributor), policies, self.distributor
            ),
            segment_labels=SEGMENT_LABELS,
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        form = QualificationEndForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(period_form=form), status=400)
        value = form.cleaned_data["qualification_end"]
        try:
            services.qualification_end_update(distributor=self.distributor, value=value)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
            return self.render_to_response(self.get_context_data(period_form=form), status=400)
        if value:
            messages.success(request, f"The qualification period now ends on {format_date(value, self.distributor)}.")
        else:
            messages.success(
                request,
                "The qualification period now ends at the next scheduled run "
                "(without a schedule, a year after the published run's as-of date).",
            )
        return redirect("tier-policies", tenant=self.distributor.slug)


class TierSuggestView(TenantViewMixin, TemplateView):
    """Each tier's targets proposed from the published run (the first quartile of the tier's
    segment's customers for at-least targets, the last for at-most ones; empty where that asks
    nothing), with the share of the customers shown each target (the tiers working towards it; the
    top tier's own) that would meet it. POST saves the (possibly edited) values of every tier, all or
    nothing."""

    permission = {"GET": Perm.MANAGE_MODEL, "POST": Perm.MANAGE_MODEL}
    template_name = "segments/tier_suggest.html"

    def get_context_data(self, **kwargs):
        suggestions = selectors.target_suggestions(distributor=self.distributor)
        values = kwargs.pop("values", None)
        errors = kwargs.pop("errors", {})
        for tier in suggestions["tiers"]:
            segment = tier["policy"].segment
            tier["errors"] = errors.get(segment, {}) if isinstance(errors.get(segment), dict) else {}
            for row in tier["targets"]:
                name = f"{segment}-{row['metric'].field}"
                row["name"] = name
                row["input"] = values.get(name, "") if values is not None else row["proposed"]
                row["current_text"] = format_figure(row["metric"], row["current"], self.distributor)  # "5%"
                row["errors"] = tier["errors"].get(row["metric"].field, [])
        return super().get_context_data(suggestions=suggestions, segment_labels=SEGMENT_LABELS, **kwargs)

    def post(self, request, *args, **kwargs):
        items = []
        for policy in selectors.policy_list(distributor=self.distributor):
            item = {"segment": policy.segment}
            for metric in METRICS:
                name = f"{policy.segment}-{metric.field}"
                if name in request.POST:
                    item[metric.field] = request.POST[name].strip()
            items.append(item)
        errors = services.policies_update(distributor=self.distributor, actor=request.user, items=items)
        if errors:
            messages.error(request, "Nothing was saved: see the targets marked below.")
            context = self.get_context_data(values=request.POST, errors=errors)
            return self.render_to_response(context, status=400)
        messages.success(request, "Targets saved for every tier.")
        return redirect("tier-policies", tenant=self.distributor.slug)


class TierNoticeSendView(TenantViewMixin, TemplateView):
    """POST `customer=<account>` (one; a customer already told about the run only with `resend=1`,
    the page's "Send again") or `all=1` (everyone not yet told): e-mail the customers of a published
    run whose tier changed their new tier and a link to their scorecard."""

    permission = {"POST": Perm.MANAGE_MODEL}
    lookups = (RUN,)

    def post(self, request, *args, **kwargs):
        run = self.run
        if run.published_at is None:
            messages.error(request, "Only a published run's tier changes can be sent.")
            return redirect("run-detail", tenant=self.distributor.slug, run_id=run.number)
        account = request.POST.get("customer", "").strip()
        if not account and not request.POST.get("all"):
            messages.error(request, "Choose a customer, or send to all.")
            return redirect("run-detail", tenant=self.distributor.slug, run_id=run.number)
        try:
            sent = services.tier_notices_send(
                distributor=self.distributor,
                run=run,
                actor=request.user,
                customer_ids=[account] if account else None,
                request=request,
                resend=request.POST.get("resend") == "1",
            )
        except services.NoticeAlreadySent as already:
            told = "; ".join(f"to {n.email} on {format_datetime(n.sent_at, self.distributor)}" for n in already.notices)
            messages.warning(
                request, f"Nothing sent: {account} was already told its new tier ({told}). Use Send again to resend."
            )
            return redirect("run-detail", tenant=self.distributor.slug, run_id=run.number)
        except services.NoticeSendFailed as failure:
            done = len(failure.sent)
            messages.error(
                request,
                f"The mail server refused a message ({failure.error}): {done} e-mail{'s' if done != 1 else ''} "
                "sent before it, recorded below; send again to reach the others.",
            )
            return redirect("run-detail", tenant=self.distributor.slug, run_id=run.number)
        if sent:
            messages.success(request, f"{len(sent)} e-mail{'s' if len(sent) != 1 else ''} sent.")
        else:
            messages.info(request, "Nothing to send: no customer user with an e-mail address is waiting for one.")
        return redirect("run-detail", tenant=self.distributor.slug, run_id=run.number)


class TierPolicyEditView(TenantViewMixin, TemplateView):
    permission = {"GET": Perm.MANAGE_MODEL, "POST": Perm.MANAGE_MODEL}
    template_name = "segments/tier_policy_form.html"

    lookups = (TIER_POLICY,)

    def get(self, request, *args, **kwargs):
        policy = self.policy
        return self.render_to_response(self.context(policy, TierPolicyForm(instance=policy)))

    def context(self, policy, form):
        return self.get_context_data(policy=policy, form=form, segment_label=SEGMENT_LABELS[policy.segment])

    def post(self, request, *args, **kwargs):
        policy = self.policy
        # The form gets its own copy: a failed validation must not leave the page showing its values
        # as the saved ones.
        form = TierPolicyForm(
            request.POST, instance=selectors.policy_get(distributor=self.distributor, segment=policy.segment)
        )
        if form.is_valid():
            try:
                services.policy_update(policy=policy, actor=request.user, data=form.cleaned_data)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    for message in errors:
                        form.add_error(field if field in form.fields else None, message)
            else:
                messages.success(request, f"Tier {form.cleaned_data['tier_name']} saved.")
                warning = ladder_warnings(selectors.policy_list(distributor=self.distributor)).get(policy.segment)
                if warning:
                    messages.warning(request, warning)
                return redirect("tier-policies", tenant=self.distributor.slug)
        return self.render_to_response(self.context(policy, form), status=400)
