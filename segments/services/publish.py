"""Publishing a run (making it the one every page shows; published runs are immutable) and
comparing two runs (who moves where)."""

from __future__ import annotations

import logging
from functools import partial

import pandas as pd
from django.db import transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from stratify.cache import tenant_cache_bump
from stratify.engine import LAPSED, SEGMENTS, ModelSettings
from stratify.jobs.registry import RAISE_ALERTS_JOB_KIND
from stratify.jobs.services import job_enqueue

from ..models import CustomerScore, StratificationRun
from ..selectors import profile_get
from .model_settings import profile_lock, settings_update
from .runs import RunError

Status = StratificationRun.Status
logger = logging.getLogger(__name__)


def _enqueue_alerts(distributor, number: int) -> None:
    """After the publish committed: ask for the run's alerts (a job handled by the `alerts` app,
    named by its kind so this app never imports it). The publish never waits for it and never fails
    because of it: an error here is only logged."""
    try:
        job_enqueue(distributor=distributor, kind=RAISE_ALERTS_JOB_KIND, params={"run": number})
    except Exception:  # noqa: BLE001 - the publish has committed; alerts are best effort
        logger.exception("could not enqueue the alerts of run #%s of %s", number, distributor.pk)


def publish_in_transaction(run: StratificationRun, *, adopt_settings: bool = False, actor=None) -> bool:
    """Inside a transaction: make `run` the published one (the previous one is kept as previous_run).
    With `adopt_settings` (a manager publishing a what-if preview), a run computed with other settings
    than the model's makes them the model's settings, recorded as a change by `actor` (else whoever
    asked for the run): every page now shows them, and the next run must not quietly go back. (Not
    for a run published as it finishes: settings changed while it ran would be undone.) Returns
    whether the settings changed so."""
    profile = profile_lock(distributor=run.distributor)
    locked = StratificationRun.objects.select_for_update().get(pk=run.pk)
    if locked.published_at is not None:
        raise RunError("This run is already published.")
    if locked.status != Status.SUCCEEDED:
        raise RunError(f"Only a succeeded run can be published (this one is {locked.status}).")
    if profile.current_run_id != locked.compared_to_id:
        # Another run was published since this one was computed: migrations are relative to it now.
        published_segment = CustomerScore.objects.filter(
            distributor=run.distributor, run_id=profile.current_run_id, customer_id=OuterRef("customer_id")
        ).values("segment")[:1]
        CustomerScore.objects.filter(distributor=run.distributor, run=locked).update(
            previous_segment=Coalesce(Subquery(published_segment), Value(""))
        )
        locked.compared_to_id = profile.current_run_id
    now = timezone.now()
    StratificationRun.objects.filter(distributor_id=locked.distributor_id, pk=locked.pk).update(
        published_at=now, compared_to_id=locked.compared_to_id
    )
    profile.previous_run_id = profile.current_run_id
    profile.current_run_id = locked.pk
    profile.save(update_fields=["previous_run", "current_run", "updated_at"])
    effective = ModelSettings().with_overrides(profile.settings).to_dict()
    adopted = adopt_settings and bool(locked.settings) and locked.settings != effective
    if adopted:
        defaults = ModelSettings().to_dict()
        settings_update(
            distributor=run.distributor,
            actor=actor or locked.created_by,
            settings={key: value for key, value in locked.settings.items() if defaults.get(key) != value},
        )
    run.published_at, run.compared_to_id = now, locked.compared_to_id
    # Every process's page caches of the tenant are stale once this commits (stratify/cache.py).
    transaction.on_commit(partial(tenant_cache_bump, locked.distributor_id))
    transaction.on_commit(partial(_enqueue_alerts, run.distributor, locked.number), robust=True)
    return adopted


def run_publish(run: StratificationRun, actor=None) -> StratificationRun:
    """A manager publishes a succeeded, unpublished run, a what-if preview say (RunError otherwise: a
    run is published at most once); its settings become the model's (`publish_in_transaction`).
    `settings_adopted` on the run returned: whether they changed so."""
    with transaction.atomic():
        adopted = publish_in_transaction(run, adopt_settings=True, actor=actor)
    run.refresh_from_db()
    run.settings_adopted = adopted
    return run


def run_compare(
    run: StratificationRun, other: StratificationRun | None = None, *, published_if_none: bool = True
) -> dict:
    """Who moves where between `other` (default: the published run, unless `published_if_none` is
    false) and `run`: the migration matrix (from other's segment to run's segment, "" when a customer
    is absent from one run) and the list of customers whose segment differs. A run is never compared
    with itself: the published run is compared with the run it replaced (nothing for the first one)."""
    if other is None and published_if_none:
        other = profile_get(distributor=run.distributor).current_run
    if other is not None and other.pk == run.pk:
        other = run.compared_to
    distributor = run.distributor
    mine = pd.DataFrame.from_records(
        CustomerScore.objects.filter(distributor=distributor, run=run).values_list(
            "customer_id", "customer__customer_id", "customer__name", "segment"
        ),
        columns=["pk", "customer_id", "name", "to"],
    )
    theirs = pd.DataFrame.from_records(
        CustomerScore.objects.filter(distributor=distributor, run=other).values_list(
            "customer_id", "customer__customer_id", "customer__name", "segment"
        )
        if other is not None
        else [],
        columns=["pk", "customer_id", "name", "from"],
    )
    both = mine.merge(theirs, on="pk", how="outer", suffixes=("", "_other"))
    both["customer_id"] = both["customer_id"].fillna(both["customer_id_other"])
    both["name"] = both["name"].fillna(both["name_other"])
    both["from"] = both["from"].fillna("")
    both["to"] = both["to"].fillna("")
    labels = [*SEGMENTS, LAPSED, ""]
    matrix = {a: dict.fromkeys(labels, 0) for a in labels}
    for (a, b), count in both.groupby(["from", "to"]).size().items():
        matrix[a][b] = int(count)
    moved = both[both["from"] != both["to"]].sort_values("customer_id")
    return {
        "run": run.number,
        "other": other.number if other is not None else None,
        "matrix": matrix,
        "moved_count": len(moved),
        "moves": [
            {"customer_id": c, "name": n or "", "from": a, "to": b}
            for c, n, a, b in moved[["customer_id", "name", "from", "to"]].itertuples(index=False)
        ],
    }
