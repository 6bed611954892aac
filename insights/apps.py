from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """The read side: dashboards, customer pages, scorecards and every report built on a published
    run. It owns no tables: it reads what `sales`, `channels` and `segments` keep."""

    name = "insights"
