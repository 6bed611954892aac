"""Fill the line summaries of tenants that imported lines before the summaries existed."""

from django.db import migrations


def fill(apps, schema_editor):
    from sales import summaries  # the live SQL: the summaries' tables were created by 0005

    InvoiceLine = apps.get_model("sales", "InvoiceLine")
    tenants = InvoiceLine._base_manager.values_list("distributor_id", flat=True).distinct().order_by()
    with schema_editor.connection.cursor() as cursor:
        for tenant in list(tenants):
            summaries.refresh(cursor, tenant=int(tenant))


class Migration(migrations.Migration):
    dependencies = [("sales", "0005_line_summaries")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
