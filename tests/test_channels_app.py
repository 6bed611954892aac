"""`channels` is this project's app (there is a PyPI package of the same name: Django Channels)."""

from pathlib import Path

from django.apps import apps

import channels


def test_channels_resolves_to_this_project():
    project_root = Path(__file__).resolve().parent.parent
    assert Path(channels.__file__).resolve().parent == project_root / "channels"


def test_channels_app_has_explicit_label():
    config = apps.get_app_config("stratify_channels")
    assert config.name == "channels"
    assert config.get_model("Partner").__module__ == "channels.models"
