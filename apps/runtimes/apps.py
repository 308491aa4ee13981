from django.apps import AppConfig


class RuntimesConfig(AppConfig):
    name = "apps.runtimes"
    label = "runtimes"
    verbose_name = "Pack environments"
