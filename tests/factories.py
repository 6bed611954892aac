"""factory-boy factories. Tenant-owned factories need an active scope or `scopes_disabled()`; the
`db` fixtures in conftest disable scoping around test setup only where they create rows."""

from datetime import date
from decimal import Decimal

import factory

from accounts.models import Distributor, Membership, User
from channels.models import Interaction, Partner
from sales.models import Customer, InvoiceLine, Product, Rep


class DistributorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Distributor
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Distributor {n}")
    slug = factory.Sequence(lambda n: f"dist-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class RepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rep

    distributor = factory.SubFactory(DistributorFactory)
    rep_id = factory.Sequence(lambda n: f"R{n:03d}")
    name = factory.Faker("name")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    distributor = factory.SubFactory(DistributorFactory)
    customer_id = factory.Sequence(lambda n: f"C{n:05d}")
    name = factory.Faker("company")
    branch = "North"
    customer_class = "contractor"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    distributor = factory.SubFactory(DistributorFactory)
    product_id = factory.Sequence(lambda n: f"SKU{n:05d}")
    name = factory.Faker("word")
    category = factory.Iterator(["Fasteners", "Pipe", "Valves", "Electrical", "Safety"])


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    distributor = factory.SubFactory(DistributorFactory)
    partner_id = factory.Sequence(lambda n: f"P{n:03d}")
    name = factory.Faker("company")
    kind = "reseller"


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    distributor = factory.SubFactory(DistributorFactory)
    invoice_id = factory.Sequence(lambda n: f"INV{n:06d}")
    line_no = 1
    invoice_date = date(2026, 6, 1)
    customer = factory.SubFactory(CustomerFactory, distributor=factory.SelfAttribute("..distributor"))
    product = factory.SubFactory(ProductFactory, distributor=factory.SelfAttribute("..distributor"))
    quantity = Decimal("1")
    revenue = Decimal("100.00")
    cost = Decimal("70.00")


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    distributor = factory.SubFactory(DistributorFactory)
    customer = factory.SubFactory(CustomerFactory, distributor=factory.SelfAttribute("..distributor"))
    date = date(2026, 6, 1)
    kind = "call"
    summary = factory.Faker("sentence")
    natural_key = factory.Sequence(lambda n: f"manual-{n}")


def membership(distributor, role, *, username=None, rep=None, customer=None) -> User:
    """A user with `role` in `distributor` (password `pass-word-123`)."""
    user = UserFactory(username=username) if username else UserFactory()
    Membership.objects.create(distributor=distributor, user=user, role=role, rep=rep, customer=customer)
    return user
