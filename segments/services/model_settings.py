"""The tenant's model settings: overrides of the defaults of STRATIFICATION.md, validated (errors
name the fields), with a history of who changed which field from what to what; and the schedule."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from stratify.engine import ModelSettings, validate_settings

from ..models import SettingsChange, StratificationProfile
from ..selectors import profile_get


def _validation_error(errors: dict[str, list[str]]) -> ValidationError:
    return ValidationError(dict(errors))


def profile_lock(*, distributor) -> StratificationProfile:
    """Inside a transaction: the tenant's profile row, locked (created first if the tenant has none;
    one per tenant, guarded by a unique constraint)."""
    StratificationProfile.objects.get_or_create(distributor=distributor)
    return StratificationProfile.objects.select_for_update().get(distributor=distributor)


def settings_effective(*, distributor) -> ModelSettings:
    """The tenant's overrides merged over the defaults of STRATIFICATION.md."""
    return ModelSettings().with_overrides(profile_get(distributor=distributor).settings)


def settings_resolve(*, distributor, overrides: dict | None = None) -> ModelSettings:
    """The tenant's settings with a run's what-if `overrides` on top; ValidationError naming fields."""
    base = profile_get(distributor=distributor).settings
    merged = {**base, **(overrides or {})}
    if not isinstance(overrides or {}, dict):
        raise _validation_error({"settings": ["must be an object"]})
    errors = validate_settings(merged)
    if errors:
        raise _validation_error(errors)
    return ModelSettings().with_overrides(merged)


def settings_update(*, distributor, actor, settings: dict, partial: bool = False) -> StratificationProfile:
    """Replace (or with `partial`, update) the tenant's overrides; record who changed which field from
    what to what. Raises ValidationError naming the offending fields; saves nothing then."""
    if not isinstance(settings, dict):
        raise _validation_error({"settings": ["must be an object"]})
    with transaction.atomic():
        profile = profile_lock(distributor=distributor)
        overrides = {**profile.settings, **settings} if partial else dict(settings)
        errors = validate_settings(overrides)
        if errors:
            raise _validation_error(errors)
        before = ModelSettings().with_overrides(profile.settings).to_dict()
        after_settings = ModelSettings().with_overrides(overrides)
        after = after_settings.to_dict()
        # Stored normalised (money as strings, weights as floats), only the keys that were given.
        profile.settings = {key: after[key] for key in overrides}
        profile.save(update_fields=["settings", "updated_at"])
        changes = {key: [before[key], after[key]] for key in after if before.get(key) != after[key]}
        if changes:
            SettingsChange.objects.create(
                distributor=distributor,
                changed_by=actor if getattr(actor, "is_authenticated", False) else None,
                changes=changes,
                settings_after=after,
            )
    return profile


def schedule_update(*, distributor, schedule: str) -> StratificationProfile:
    if schedule not in StratificationProfile.Schedule.values:
        raise _validation_error({"schedule": [f"must be one of {', '.join(StratificationProfile.Schedule.values)}"]})
    with transaction.atomic():
        profile = profile_lock(distributor=distributor)
        profile.schedule = schedule
        profile.save(update_fields=["schedule", "updated_at"])
    return profile
