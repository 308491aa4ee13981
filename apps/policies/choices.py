"""Policy types (StackStorm's names) and what a concurrency policy does at its threshold."""

from django.db import models


class PolicyType(models.TextChoices):
    CONCURRENCY = "action.concurrency"
    CONCURRENCY_ATTR = "action.concurrency.attr"
    RETRY = "action.retry"


CONCURRENCY_TYPES = frozenset({PolicyType.CONCURRENCY, PolicyType.CONCURRENCY_ATTR})


class ThresholdAction(models.TextChoices):
    DELAY = "delay"
    CANCEL = "cancel"


class RetryOn(models.TextChoices):
    FAILURE = "failure"
    TIMEOUT = "timeout"
    ABANDONED = "abandoned"  # Attune's addition: the worker running it died
