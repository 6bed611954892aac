from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Data imports"

    def ready(self) -> None:
        from . import jobs  # noqa: F401  registers the "import" job handler
