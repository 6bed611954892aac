"""A new distributor starts with its stratification profile and the default tier policies, so that
reading them never has to create them (accounts, below segments, knows nothing of either)."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_scopes import scope

from accounts.models import Distributor

from .models import StratificationProfile
from .services.policies import policies_create_defaults


@receiver(post_save, sender=Distributor, dispatch_uid="segments-tenant-defaults")
def create_tenant_defaults(sender, instance: Distributor, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw:
        return
    with transaction.atomic(), scope(distributor=instance):
        StratificationProfile.objects.get_or_create(distributor=instance)
        policies_create_defaults(distributor=instance)
