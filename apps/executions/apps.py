from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "apps.executions"
    label = "executions"

    def ready(self):
        from apps.executions import signals

        signals.connect()
