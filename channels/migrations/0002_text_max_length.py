"""Free-text fields get max_length=4000 (checked by forms, serializers and the import). A TextField's
max_length has no database effect, so only the state changes (SQLite would otherwise rebuild the tables)."""

from django.db import migrations, models

FIELDS = [
    ("interaction", "summary"),
    ("interaction", "usage_notes"),
    ("partner", "services"),
    ("partner", "supports_customer"),
    ("partner", "why_customers_use_it"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("stratify_channels", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name=model, name=name, field=models.TextField(blank=True, max_length=4000))
                for model, name in FIELDS
            ],
        ),
    ]
