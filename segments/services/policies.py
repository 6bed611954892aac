"""Writing tier policies: the defaults a tenant starts with, and a manager's changes (validated
against the neighbouring tiers and audited field by field)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import TierPolicy, TierPolicyChange
from ..policies import DEFAULT_POLICIES, EDITABLE_FIELDS, clean_policy_value, validate_policy
from ..selectors import policy_list
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


@transaction.atomic
def policy_update(*, policy: TierPolicy, actor, data: dict) -> TierPolicy:
    """Apply `data` (a subset of EDITABLE_FIELDS) to `policy`; validate; save and audit the change.
    Raises ValidationError naming the fields at fault; nothing is saved then."""
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
    # Lock the tenant's policies: two managers editing neighbouring tiers must not both pass validation.
    policies = list(TierPolicy.objects.select_for_update().filter(distributor=policy.distributor).order_by("rank"))
    current = next(p for p in policies if p.pk == policy.pk)
    changes = {}
    for field, value in cleaned.items():
        before = getattr(current, field)
        if value is None and not TierPolicy._meta.get_field(field).null:
            value = TierPolicy._meta.get_field(field).get_default()
        if before != value:
            changes[field] = [_json_safe(before), _json_safe(value)]
            setattr(current, field, value)
    validate_policy(current, policies)
    if changes:
        current.updated_by = actor
        current.save()
        TierPolicyChange.objects.create(
            distributor=current.distributor, policy=current, changed_by=actor, changes=changes
        )
    return current


def policies_update(*, distributor, actor, items) -> dict:
    """Apply several policies' changes (`[{"segment": ..., <fields>}, ...]`) all or nothing. Returns
    the errors by segment (and `segment` for an item naming none of the tenant's); nothing is saved
    when there is any."""
    by_segment = {p.segment: p for p in policy_list(distributor=distributor)}
    errors: dict = {}
    with transaction.atomic():
        for item in items:
            segment = item.get("segment") if isinstance(item, dict) else None
            if not isinstance(segment, str) or segment not in by_segment:
                errors.setdefault("segment", []).append(f"must be one of {', '.join(by_segment)}")
                continue
            fields = {k: v for k, v in item.items() if k != "segment"}
            try:
                policy_update(policy=by_segment[segment], actor=actor, data=fields)
            except ValidationError as error:
                errors[segment] = error.message_dict
        if errors:
            transaction.set_rollback(True)
    return errors


def qualification_end_update(*, distributor, value) -> None:
    """Set (a date) or clear (None: the next scheduled run) the end of the qualification period."""
    from .model_settings import profile_lock

    with transaction.atomic():
        profile = profile_lock(distributor=distributor)
        profile.qualification_end = value
        profile.save(update_fields=["qualification_end", "updated_at"])
