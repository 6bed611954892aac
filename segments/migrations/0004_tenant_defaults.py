"""Tier policies and the stratification profile are now created with the tenant (segments.signals)
instead of on first read: create them for the tenants that existed before."""

from django.db import migrations


def create_defaults(apps, schema_editor):
    from segments.policies import DEFAULT_POLICIES

    Distributor = apps.get_model("accounts", "Distributor")
    Profile = apps.get_model("segments", "StratificationProfile")
    TierPolicy = apps.get_model("segments", "TierPolicy")
    # Only the fields this migration's model has (later migrations add fields to the defaults).
    known = {f.name for f in TierPolicy._meta.get_fields()}
    for distributor in Distributor.objects.all():
        Profile.objects.get_or_create(distributor=distributor)
        have = set(TierPolicy.objects.filter(distributor=distributor).values_list("segment", flat=True))
        TierPolicy.objects.bulk_create(
            [
                TierPolicy(distributor=distributor, segment=segment, **{k: v for k, v in fields.items() if k in known})
                for segment, fields in DEFAULT_POLICIES.items()
                if segment not in have
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0003_customerscore_tenant_no_db_fk_constraint"),
        ("accounts", "0002_initial"),
    ]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
