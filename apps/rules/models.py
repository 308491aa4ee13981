"""Rules (when this trigger fires and these criteria hold, run that action) and the record of
every evaluation of a rule against a trigger instance."""

from django.conf import settings
from django.db import models

from apps.rules.choices import EnforcementStatus


class RuleQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(is_enabled=True)


class Rule(models.Model):
    """A rule from a pack's rules/ or created through the API."""

    ref = models.CharField(max_length=300, unique=True)
    pack = models.ForeignKey(
        "packs.Pack", null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    trigger_ref = models.CharField(max_length=300)
    trigger_parameters = models.JSONField(default=dict, blank=True)
    trigger_key = models.CharField(max_length=330, db_index=True)
    criteria = models.JSONField(default=dict, blank=True)
    action_ref = models.CharField(max_length=300)
    action_parameters = models.JSONField(default=dict, blank=True)
    is_enabled = models.BooleanField(default=True)
    # PROTECT: a user who still owns rules cannot be deleted. Ownerless rules are the
    # installation's (shared, run with its rights): a deleted user's must not become that.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    metadata_file = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["ref"]

    def __str__(self):
        return self.ref


class RuleEnforcement(models.Model):
    """One evaluation of a rule against a trigger instance, and what came of it."""

    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.SET_NULL)
    rule_ref = models.CharField(max_length=300)
    trigger_instance = models.ForeignKey(
        "triggers.TriggerInstance", on_delete=models.CASCADE, related_name="enforcements"
    )
    status = models.CharField(max_length=20, choices=EnforcementStatus.choices)
    execution = models.ForeignKey(
        "executions.Execution", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    criteria_results = models.JSONField(default=list, blank=True)
    enforced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["rule_ref", "id"], name="enforcement_rule_ref")]

    def __str__(self):
        return f"{self.rule_ref} on {self.trigger_instance_id}: {self.status}"
