from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Stratification and tier policies"

    def ready(self) -> None:
        from . import jobs  # noqa: F401  (registers the "stratify" job handler)
