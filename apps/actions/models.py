"""Actions: what can be run, as declared by a pack's `actions/*.yaml`."""

from django.db import models

from apps.actions.parameters import merge_specs
from apps.actions.runner_types import RUNNER_TYPES


class ActionQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(is_enabled=True)


class Action(models.Model):
    """An action of a pack: runner type, entry point and parameter specs."""

    pack = models.ForeignKey("packs.Pack", on_delete=models.CASCADE, related_name="actions")
    name = models.CharField(max_length=200)
    ref = models.CharField(max_length=300, unique=True)
    description = models.TextField(blank=True)
    # Not a choices field: the pack loader checks it against RUNNER_TYPES, and a new runner
    # type should not need a migration.
    runner_type = models.CharField(max_length=50)
    entry_point = models.CharField(max_length=500, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    output_schema = models.JSONField(default=dict, blank=True)
    is_enabled = models.BooleanField(default=True)
    metadata_file = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ActionQuerySet.as_manager()

    class Meta:
        ordering = ["ref"]
        constraints = [
            models.UniqueConstraint(fields=["pack", "name"], name="action_unique_name_in_pack")
        ]

    def __str__(self):
        return self.ref

    def parameter_specs(self) -> dict:
        """The effective parameter specs: the runner's, overridden by the action's own."""
        return merge_specs(RUNNER_TYPES[self.runner_type].parameters, self.parameters)
