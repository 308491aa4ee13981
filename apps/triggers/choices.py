from django.db import models


class TriggerInstanceStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


class TriggerSource(models.TextChoices):
    WEBHOOK = "webhook"
    TIMER = "timer"
    SENSOR = "sensor"
    ACTION = "action"
    API = "api"
    REEMIT = "reemit"
