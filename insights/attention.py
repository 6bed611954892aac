"""The "needs attention" column of my customers and the customer page: a customer needs attention
when it has open (or acknowledged) alerts (docs INSIGHTS.md; raised by `alerts` after each published
run). In SQL for the filter (`attention_q`), and in words, read for a page of customers in one query
(`attention_by_customer`)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Exists, OuterRef, Q

from alerts.models import ACTIVE, Alert, Kind
from sales.models import Product

KIND_LABELS = dict(Kind.choices)


def attention_q(prefix: str = "") -> Q:
    """Customers (rows of the customer table, or `prefix`-ed relations) with an open alert."""
    return Q(
        Exists(
            Alert.objects.filter(
                distributor_id=OuterRef(f"{prefix}distributor_id"),
                customer_id=OuterRef(f"{prefix}pk"),
                status__in=ACTIVE,
            )
        )
    )


def attention_by_customer(*, distributor, customers) -> dict[int, list[str]]:
    """{customer pk: [the open alerts in words, biggest money first]} for `customers` (pks). A
    product is named by its code and name ("Replenishment due: SKU-1 (Filter cartridge)")."""
    reasons: dict[int, list[str]] = defaultdict(list)
    pks = list(customers)
    if not pks:
        return {}
    rows = list(
        Alert.objects.filter(distributor=distributor, status__in=ACTIVE, customer_id__in=pks)
        .order_by("-amount", "id")
        .values_list("customer_id", "kind", "subject_type", "subject")
    )
    codes = {subject for _, _, subject_type, subject in rows if subject_type == "product"}
    names = dict(
        Product.objects.filter(distributor=distributor, product_id__in=codes)
        .exclude(name="")
        .values_list("product_id", "name")
    ) if codes else {}  # fmt: skip
    for customer, kind, subject_type, subject in rows:
        label = KIND_LABELS.get(kind, kind)
        if subject_type == "customer":
            reasons[customer].append(label)
            continue
        name = names.get(subject) if subject_type == "product" else None
        reasons[customer].append(f"{label}: {subject} ({name})" if name else f"{label}: {subject}")
    return dict(reasons)
