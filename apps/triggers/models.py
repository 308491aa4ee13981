"""Trigger types (what can happen) and trigger instances (what did happen)."""

import hashlib
import json

from django.db import models

from apps.triggers.choices import TriggerInstanceStatus, TriggerSource


def trigger_key(trigger_ref: str, parameters: dict | None) -> str:
    """Identify one concrete trigger: a type plus its parameters (e.g. a webhook's url).

    Rules and trigger instances carry this key, so finding the rules of an instance is one
    indexed lookup.
    """
    if not parameters:
        return trigger_ref
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
    return f"{trigger_ref}:{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"


class TriggerType(models.Model):
    """A kind of event, from a pack's triggers/ or sensors, or built in (`core.st2.*`)."""

    ref = models.CharField(max_length=300, unique=True)
    pack = models.ForeignKey(
        "packs.Pack", null=True, blank=True, on_delete=models.CASCADE, related_name="trigger_types"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    payload_schema = models.JSONField(default=dict, blank=True)
    parameters_schema = models.JSONField(default=dict, blank=True)
    is_builtin = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ref"]

    def __str__(self):
        return self.ref


class TriggerInstance(models.Model):
    """One occurrence of a trigger, with its payload and how far rule processing got."""

    trigger_type = models.ForeignKey(
        TriggerType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger_ref = models.CharField(max_length=300)
    trigger_key = models.CharField(max_length=330)
    payload = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=20, choices=TriggerSource.choices)
    source_detail = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=20, choices=TriggerInstanceStatus.choices, default=TriggerInstanceStatus.PENDING
    )
    error = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text="Anything the source wants operators to know.")
    occurred_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["trigger_ref", "id"], name="instance_trigger_ref"),
            models.Index(fields=["status", "occurred_at"], name="instance_status_occurred"),
        ]

    def __str__(self):
        return f"{self.trigger_ref} #{self.pk}"
