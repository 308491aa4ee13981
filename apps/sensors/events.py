"""Live notification events about sensors (see apps.notifications)."""

from apps.notifications.services import event, publish
from apps.sensors.api.serializers import SensorSerializer
from apps.sensors.models import Sensor


def announce_sensors(refs) -> None:
    """`sensor.updated` for each of these sensors as they now are (enabled, running, crashed)."""
    sensors = Sensor.objects.filter(ref__in=list(refs)).select_related("pack").order_by("ref")
    publish(
        *(
            event("sensor.updated", "sensor", sensor.pk, SensorSerializer(sensor).data)
            for sensor in sensors
        )
    )
