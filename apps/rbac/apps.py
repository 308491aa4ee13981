from django.apps import AppConfig


class RbacConfig(AppConfig):
    name = "apps.rbac"
    label = "rbac"
    verbose_name = "Roles and permissions"

    def ready(self):
        from apps.rbac import signals

        signals.connect()
