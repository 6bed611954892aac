from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = "Sales records (customers, reps, products, invoice lines)"

    def ready(self):
        from . import signals  # noqa: F401  (the customers' assignment stamp follows ORM saves)
