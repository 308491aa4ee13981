"""`manage.py run_sensors`: the sensor container (one per deployment)."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run every enabled pack sensor in its own process until stopped (SIGTERM/Ctrl-C)."

    def handle(self, *args, **options):
        # The container is worker-side code; this command is only its entry point, as
        # `celery -A attune` is for the workers.
        from workers.sensors.container import SensorContainer

        SensorContainer().run()
