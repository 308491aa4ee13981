"""Sensors: a pack's long-running Python classes that watch something and emit triggers."""

from django.db import models

from apps.sensors.choices import SensorStatus


class SensorQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(is_enabled=True)


class Sensor(models.Model):
    """A sensor from a pack's sensors/*.yaml, with the sensor container's view of its process."""

    ref = models.CharField(max_length=300, unique=True)
    pack = models.ForeignKey("packs.Pack", on_delete=models.CASCADE, related_name="sensors")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    class_name = models.CharField(max_length=200)
    entry_point = models.CharField(max_length=500, help_text="Relative to the pack's sensors/.")
    poll_interval = models.FloatField(null=True, blank=True, help_text="Seconds (PollingSensor).")
    trigger_types = models.JSONField(default=list, blank=True, help_text="Refs it declares.")
    is_enabled = models.BooleanField(default=True)
    metadata_file = models.CharField(max_length=500, blank=True)
    # Runtime state, written by the sensor container.
    status = models.CharField(
        max_length=20, choices=SensorStatus.choices, default=SensorStatus.STOPPED
    )
    pid = models.IntegerField(null=True, blank=True)
    restarts = models.PositiveIntegerField(
        default=0, help_text="Respawns after a crash since it was last started."
    )
    last_error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SensorQuerySet.as_manager()

    class Meta:
        ordering = ["ref"]

    def __str__(self):
        return self.ref
