from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """The write side of alerts (docs INSIGHTS.md): the rules, the alerts a published run raises, their
    life cycle and settings. Its pages live in `insights` (the read side)."""

    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from . import jobs  # noqa: F401  (registers the raise_alerts job handler)
