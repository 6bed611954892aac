from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "channels"
    label = "stratify_channels"
    verbose_name = "Channels, partners and interactions"
