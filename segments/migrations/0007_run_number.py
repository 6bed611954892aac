"""Runs are numbered per tenant: existing runs get 1, 2, 3... per tenant in creation order. The job
parameters and results that named a run or a job by its id (a run's job, the re-stratification after an
import) are rewritten to name them by their number, as pages and the API now do."""

from django.db import migrations, models

# (job kind, "params" or "result", key, what the value names)
REFERENCES = (
    ("stratify", "params", "run_id", "run"),
    ("stratify", "result", "run_id", "run"),
    ("restratify", "params", "after_import", "job"),
    ("restratify", "result", "after_import", "job"),
    ("restratify", "result", "run_id", "run"),
    ("import", "result", "restratify_job", "job"),
)


def number_runs(apps, schema_editor):
    from stratify.tenancy.numbering import backfill

    Run, Job = apps.get_model("segments", "StratificationRun"), apps.get_model("jobs", "Job")
    backfill(Run)
    numbers = {
        "run": {pk: (tenant, n) for pk, tenant, n in Run.objects.values_list("id", "distributor_id", "number")},
        "job": {pk: (tenant, n) for pk, tenant, n in Job.objects.values_list("id", "distributor_id", "number")},
    }
    kinds = {kind for kind, *_ in REFERENCES}
    for job in Job.objects.filter(kind__in=kinds).iterator(chunk_size=500):
        changed = False
        for kind, field, key, names in REFERENCES:
            data = getattr(job, field)
            if job.kind != kind or not isinstance(data, dict) or not isinstance(data.get(key), int):
                continue
            tenant, number = numbers[names].get(data[key], (None, None))
            if tenant == job.distributor_id:
                data[key], changed = number, True
        if changed:
            job.save(update_fields=["params", "result"])


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0003_job_number"),
        ("segments", "0006_settings_within_ranges"),
    ]

    operations = [
        migrations.AddField(
            model_name="stratificationrun",
            name="number",
            field=models.PositiveIntegerField(null=True, editable=False),
        ),
        migrations.RunPython(number_runs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="stratificationrun",
            name="number",
            field=models.PositiveIntegerField(
                editable=False, help_text="Per tenant: 1, 2, 3... (shown instead of the id)"
            ),
        ),
        migrations.AddConstraint(
            model_name="stratificationrun",
            constraint=models.UniqueConstraint(fields=("distributor", "number"), name="run_number_per_tenant"),
        ),
    ]
