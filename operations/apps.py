from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Core-first operations"

    def ready(self) -> None:
        from . import jobs  # noqa: F401  (registers the cut_tables job handler)
