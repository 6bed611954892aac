"""Migration segments 0006: overrides saved before the ranges existed are brought in line, so a tenant
with old settings still loads its pages and runs."""

import importlib

import pytest
from django.apps import apps as django_apps
from django_scopes import scopes_disabled

from segments.models import StratificationProfile
from stratify.engine import ModelSettings

migration = importlib.import_module("segments.migrations.0006_settings_within_ranges")
pytestmark = pytest.mark.django_db


def test_old_out_of_range_overrides_are_brought_in_line(tenant_a):
    old = {"window_days": 3, "cost_per_line": "1.2345", "cost_per_order": "2.50", "value_top_share": 1.7}
    with scopes_disabled():
        StratificationProfile.objects.filter(distributor=tenant_a.distributor).update(settings=old)
        migration.bring_in_range(django_apps, None)
        settings = StratificationProfile.objects.get(distributor=tenant_a.distributor).settings
    assert settings == {"window_days": 7, "cost_per_line": "1.23", "cost_per_order": "2.50"}
    assert ModelSettings().with_overrides(settings).window_days == 7  # loads again
