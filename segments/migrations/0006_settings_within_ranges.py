"""Model settings are now validated against ranges (window 7-3,650 days, money in cents, ...). Overrides
saved before that fail them are brought in line so that every page and run keeps working: money
rounded to the cent, the window clamped into its range, and any other override that still fails
dropped (the default applies). Runs keep the settings they used."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import migrations


def bring_in_range(apps, schema_editor):
    from stratify.engine.settings import AR_RATE_PLACES, MONEY_FIELDS, validate_settings

    Profile = apps.get_model("segments", "StratificationProfile")
    for profile in Profile.objects.exclude(settings={}):
        settings = dict(profile.settings or {})
        for key in MONEY_FIELDS:
            if key in settings:
                try:
                    settings[key] = str(Decimal(str(settings[key])).quantize(Decimal("0.01"), ROUND_HALF_UP))
                except (InvalidOperation, ValueError):
                    settings.pop(key)
        if "ar_carrying_rate" in settings:
            try:
                step = Decimal(1).scaleb(-AR_RATE_PLACES)
                settings["ar_carrying_rate"] = str(Decimal(str(settings["ar_carrying_rate"])).quantize(step))
            except (InvalidOperation, ValueError):
                settings.pop("ar_carrying_rate")
        if "window_days" in settings:
            try:
                settings["window_days"] = min(3650, max(7, int(float(settings["window_days"]))))
            except (TypeError, ValueError, OverflowError):
                settings.pop("window_days")
        for key in validate_settings(settings):
            settings.pop(key, None)
        if settings != profile.settings:
            profile.settings = settings
            profile.save(update_fields=["settings"])


class Migration(migrations.Migration):
    dependencies = [("segments", "0005_run_data_seen")]

    operations = [migrations.RunPython(bring_in_range, migrations.RunPython.noop)]
