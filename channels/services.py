"""Writes of the channels app: interactions logged by hand (imported ones come through `imports`)."""

import uuid
from functools import partial

from django.db import transaction

from stratify.cache import tenant_cache_bump

from .models import Interaction, Partner


def interaction_log(*, distributor, customer, membership, actor, data: dict) -> Interaction:
    """Record an interaction with `customer` from the validated fields of `InteractionForm`. The rep
    is the logging rep, else the customer's assigned rep. Imported rows are keyed by a digest of the
    row; one logged by hand gets a unique key."""
    return Interaction.objects.create(
        distributor=distributor,
        customer=customer,
        rep=membership.rep if membership.rep_id else customer.rep,
        created_by=actor,
        natural_key=f"manual-{uuid.uuid4().hex}",
        **data,
    )


PARTNER_EDITABLE = ("name", "kind", "region", "supports_customer", "services", "why_customers_use_it")


def partner_update(*, partner: Partner, data: dict) -> Partner:
    """Save a manager's edit of `partner` (the validated fields of `PartnerForm`; the id is the import's
    key and does not change). A later import of the same partner id overwrites these fields again."""
    for name in PARTNER_EDITABLE:
        if name in data:
            setattr(partner, name, data[name])
    partner.save(update_fields=[name for name in PARTNER_EDITABLE if name in data])
    # Pages cached per run name partners (the profit centers' sentences and heat maps): computed again.
    transaction.on_commit(partial(tenant_cache_bump, partner.distributor_id))
    return partner
