from sales.selectors import customer_list

from .models import Interaction, Partner


def partner_list(*, distributor):
    return Partner.objects.filter(distributor=distributor)


def interaction_list(*, distributor, membership=None, customer=None):
    """Interactions of the customers the caller may see (a rep: their assigned customers)."""
    visible = customer_list(distributor=distributor, membership=membership)
    interactions = Interaction.objects.filter(distributor=distributor, customer__in=visible)
    return interactions.filter(customer=customer) if customer is not None else interactions


def partner_get(*, distributor, partner_id: str) -> Partner:
    """The tenant's partner `partner_id` (Partner.DoesNotExist otherwise: another tenant's is never found)."""
    return partner_list(distributor=distributor).get(partner_id=partner_id)
