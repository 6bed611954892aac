from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Stratification and tier policies"

    def ready(self) -> None:
        from . import jobs, signals  # noqa: F401  (register the job handlers and the tenant defaults)
