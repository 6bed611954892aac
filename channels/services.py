"""Writes of the channels app: interactions logged by hand (imported ones come through `imports`)."""

import uuid

from .models import Interaction


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
