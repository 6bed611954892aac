"""Jobs are numbered per tenant (imports, jobs of kind "import", share the numbering): existing jobs
get 1, 2, 3... per tenant in creation order; pages, URLs and the API use the number from now on."""

from django.db import migrations, models


def number_jobs(apps, schema_editor):
    from stratify.tenancy.numbering import backfill

    backfill(apps.get_model("jobs", "Job"))


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0002_job_cancel_requested_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="job", name="number", field=models.PositiveIntegerField(null=True, editable=False)
        ),
        migrations.RunPython(number_jobs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="job",
            name="number",
            field=models.PositiveIntegerField(
                editable=False, help_text="Per tenant: 1, 2, 3... (shown instead of the id)"
            ),
        ),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.UniqueConstraint(fields=("distributor", "number"), name="job_number_per_tenant"),
        ),
    ]
