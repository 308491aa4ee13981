"""Policies on actions (concurrency caps, retries) and the bookkeeping that enforces the caps."""

from django.db import models

from apps.policies.choices import PolicyType


class PolicyQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(is_enabled=True)


class Policy(models.Model):
    """A policy from a pack's policies/ or created through the API, applied to one action."""

    ref = models.CharField(max_length=300, unique=True)
    pack = models.ForeignKey(
        "packs.Pack", null=True, blank=True, on_delete=models.CASCADE, related_name="policies"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    resource_ref = models.CharField(max_length=300, db_index=True, help_text="Action ref.")
    policy_type = models.CharField(max_length=40, choices=PolicyType.choices)
    parameters = models.JSONField(default=dict, blank=True)
    is_enabled = models.BooleanField(default=True)
    metadata_file = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        ordering = ["ref"]
        verbose_name_plural = "policies"

    def __str__(self):
        return self.ref


class ConcurrencySlot(models.Model):
    """The places of one concurrency policy, or of one combination of attribute values for
    `action.concurrency.attr`.

    Its row is locked (SELECT ... FOR UPDATE) by every admission and release, which serializes
    them across all processes: no two can both see a free place and take it.
    """

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="slots")
    key = models.CharField(max_length=64, help_text="Hash of the attribute values; empty if none.")
    attribute_values = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "key"], name="concurrency_slot_policy_key")
        ]

    def __str__(self):
        return f"{self.policy.ref} {self.attribute_values or ''}".strip()


class SlotClaim(models.Model):
    """An execution holding a place in a slot, or waiting in line (in id order) for one."""

    slot = models.ForeignKey(ConcurrencySlot, on_delete=models.CASCADE, related_name="claims")
    execution = models.ForeignKey(
        "executions.Execution", on_delete=models.CASCADE, related_name="+"
    )
    is_holding = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slot", "execution"], name="slot_claim_execution")
        ]
        indexes = [models.Index(fields=["slot", "is_holding", "id"], name="slot_claim_queue")]

    def __str__(self):
        state = "holding" if self.is_holding else "waiting"
        return f"execution {self.execution_id} {state} in {self.slot_id}"
