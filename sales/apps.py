from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = "Sales records (customers, reps, products, invoice lines)"

    def ready(self):
        from django.db.models.signals import post_save

        from .models import Customer
        from .services import assignment_changed

        def customer_saved(sender, instance, created, update_fields=None, **kwargs):
            """A customer created or saved through the ORM (admin, API, a user's own account) may have
            a new rep: the assignment stamp is read again."""
            if created or update_fields is None or "rep" in update_fields:
                assignment_changed(instance.distributor_id)

        post_save.connect(customer_saved, sender=Customer, dispatch_uid="sales.customer_saved", weak=False)
