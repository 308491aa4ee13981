from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TriggersConfig(AppConfig):
    name = "apps.triggers"
    label = "triggers"

    def ready(self):
        from apps.triggers.services import sync_builtin_trigger_types

        post_migrate.connect(sync_builtin_trigger_types, sender=self)
