"""Writing tier policies: the defaults a tenant starts with, and a manager's changes (validated
against the neighbouring tiers and audited field by field)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from stratify.formatting import format_date

from ..models import TierPolicy, TierPolicyChange
from ..policies import DEFAULT_POLICIES, EDITABLE_FIELDS, clean_policy_value, validate_policy
from ..selectors import policy_list, years_after
from ..vocabulary import RANKED_SEGMENTS


def policies_create_defaults(*, distributor) -> None:
    """Create the default policy of each segment the tenant has none for (on tenant creation; a
    data migration did it for the tenants that existed before)."""
    TierPolicy.objects.bulk_create(
        [TierPolicy(distributor=distributor, segment=s, **DEFAULT_POLICIES[s]) for s in RANKED_SEGMENTS],
        ignore_conflicts=True,  # the ones the tenant has already win
    )


def _json_safe(value):
    if isinstance(value, Decimal):
        return str(value)
    return value


def _clean(data: dict) -> dict:
    """`data` (a subset of EDITABLE_FIELDS) coerced to the fields' types; ValidationError naming the
    fields at fault."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["Not an editable field."] for name in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    cleaned = {}
    for field, raw in data.items():
        try:
            cleaned[field] = clean_policy_value(field, raw)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _apply(policy: TierPolicy, cleaned: dict) -> dict:
    """Set `cleaned` on `policy` (unsaved); the changes, field -> [before, after]."""
    changes = {}
    for field, value in cleaned.items():
        before = getattr(policy, field)
        if value is None and not TierPolicy._meta.get_field(field).null:
            value = TierPolicy._meta.get_field(field).get_default()
        if before != value:
            changes[field] = [_json_safe(before), _json_safe(value)]
            setattr(policy, field, value)
    return changes


def _update(*, distributor, actor, changes_by_segment: dict[str, dict]) -> dict:
    """Inside a transaction: apply every segment's changes to the tenant's locked policies, then
    validate each changed policy against all the others as they will be (so that several tiers
    changed together are checked together, whatever their order); save and audit when all are valid.
    Returns the errors by segment (nothing saved then)."""
    # Lock the tenant's policies: two managers editing neighbouring tiers must not both pass validation.
    policies = list(TierPolicy.objects.select_for_update().filter(distributor=distributor).order_by("rank"))
    by_segment = {p.segment: p for p in policies}
    errors: dict = {}
    changed: dict[str, dict] = {}
    for segment, data in changes_by_segment.items():
        try:
            changes = _apply(by_segment[segment], _clean(data))
        except ValidationError as error:
            errors[segment] = error.message_dict
            continue
        if changes:
            changed[segment] = changes
    if errors:
        return errors
    fields = set().union(*changed.values())  # what this change touches, whichever tier
    for segment in changed:
        try:
            validate_policy(by_segment[segment], policies, fields)
        except ValidationError as error:
            errors[segment] = error.message_dict
    if errors:
        return errors
    for segment, changes in changed.items():
        policy = by_segment[segment]
        policy.updated_by = actor
        policy.save()
        TierPolicyChange.objects.create(distributor=distributor, policy=policy, changed_by=actor, changes=changes)
    return {}


def policy_update(*, policy: TierPolicy, actor, data: dict) -> TierPolicy:
    """Apply `data` (a subset of EDITABLE_FIELDS) to `policy`; validate; save and audit the change.
    Raises ValidationError naming the fields at fault; nothing is saved then."""
    with transaction.atomic():
        errors = _update(distributor=policy.distributor, actor=actor, changes_by_segment={policy.segment: data})
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ValidationError(errors[policy.segment])
    return TierPolicy.objects.get(distributor=policy.distributor, pk=policy.pk)


def policies_update(*, distributor, actor, items) -> dict:
    """Apply several policies' changes (`[{"segment": ..., <fields>}, ...]`) all or nothing, each
    policy validated against the others as they will be. Returns the errors by segment (and
    `segment` for an item naming none of the tenant's); nothing is saved when there is any."""
    segments = [p.segment for p in policy_list(distributor=distributor)]
    errors: dict = {}
    changes: dict[str, dict] = {}
    for item in items:
        segment = item.get("segment") if isinstance(item, dict) else None
        if not isinstance(segment, str) or segment not in segments:
            errors.setdefault("segment", []).append(f"must be one of {', '.join(segments)}")
            continue
        if segment in changes:  # the last of two would win silently: say so instead
            errors.setdefault("segment", []).append(f"{segment} is listed twice; list each tier once")
            continue
        changes[segment] = {k: v for k, v in item.items() if k != "segment"}
    if errors:
        return errors
    with transaction.atomic():
        errors = _update(distributor=distributor, actor=actor, changes_by_segment=changes)
        if errors:
            transaction.set_rollback(True)
    return errors


QUALIFICATION_END_MAX_YEARS = 3


def qualification_end_update(*, distributor, value) -> None:
    """Set (a date after today, at most three years ahead) or clear (None: the next scheduled run)
    the end of the qualification period. Raises ValidationError naming `qualification_end` for a
    date that is not after today (customers would be asked to spend more by a day gone by) or one
    further off (9999-12-31 was saved)."""
    from .model_settings import profile_lock

    today = timezone.localdate()
    if value is not None and value <= today:
        raise ValidationError(
            {
                "qualification_end": [
                    f"Choose a date after today ({format_date(today, distributor)}): customers are asked to "
                    "reach their targets by this date."
                ]
            }
        )
    latest = years_after(today, QUALIFICATION_END_MAX_YEARS)
    if value is not None and value > latest:
        raise ValidationError(
            {
                "qualification_end": [
                    f"Choose a date at most {QUALIFICATION_END_MAX_YEARS} years ahead (by "
                    f"{format_date(latest, distributor)}): a review further off is no target customers can work to."
                ]
            }
        )
    with transaction.atomic():
        profile = profile_lock(distributor=distributor)
        profile.qualification_end = value
        profile.save(update_fields=["qualification_end", "updated_at"])
