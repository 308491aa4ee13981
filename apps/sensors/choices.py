from django.db import models


class SensorStatus(models.TextChoices):
    STOPPED = "stopped"
    RUNNING = "running"
    CRASHED = "crashed"  # exited on its own; the container respawns it after a backoff
