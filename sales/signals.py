"""Cache invalidation the ORM's own writes of customers need (imports and the rep assignment page call
`services.assignment_changed` themselves)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Customer
from .services import assignment_changed


@receiver(post_save, sender=Customer, dispatch_uid="sales.customer_saved")
def customer_saved(sender, instance, created, update_fields=None, **kwargs):
    """A customer created or saved through the ORM (admin, API, a user's own account) may have a new
    rep: the assignment stamp is read again."""
    if created or update_fields is None or "rep" in update_fields:
        assignment_changed(instance.distributor_id)
