from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "stratify.jobs"
    label = "jobs"
    verbose_name = "Jobs"
