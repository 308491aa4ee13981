"""Workflow executions and the task instances they ran."""

from django.db import models

from apps.executions.masking import mask_secret_values


class WorkflowExecution(models.Model):
    """The engine state of an Orquesta workflow run, one-to-one with its Execution.

    `spec` is the definition as it was when the run started; `state` is the conductor's
    document (task instances, barriers, branch contexts, errors). Advancing the workflow locks
    this row, so two children finishing at once never lose an update.
    """

    execution = models.OneToOneField(
        "executions.Execution",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="workflow",
    )
    spec = models.JSONField()
    state = models.JSONField(default=dict)
    status = models.CharField(max_length=20, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"workflow #{self.pk} ({self.status})"

    def mask(self, value):
        """`value` with the workflow's secret parameter values masked (for every output)."""
        execution = self.execution
        secrets = [
            execution.parameters[name]
            for name in execution.secret_parameter_names()
            if name in execution.parameters
        ]
        return mask_secret_values(value, secrets)


class TaskExecution(models.Model):
    """One instance of a workflow task: what it ran, how it ended, what it published."""

    workflow = models.ForeignKey(WorkflowExecution, on_delete=models.CASCADE, related_name="tasks")
    task_id = models.PositiveIntegerField(help_text="Instance number within the workflow.")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=20)
    action_ref = models.CharField(max_length=300, blank=True)
    executions = models.JSONField(
        default=list, blank=True, help_text="Child execution ids, one per item (latest attempt)."
    )
    context = models.JSONField(default=dict, blank=True, help_text="Context the task started with.")
    published = models.JSONField(default=dict, blank=True)
    items = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workflow_id", "task_id"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "task_id"], name="task_unique_in_workflow")
        ]

    def __str__(self):
        return f"{self.name} #{self.task_id} ({self.status})"

    @property
    def execution_id(self) -> int | None:
        """The child execution of a task without items (the last one with items)."""
        return self.executions[-1] if self.executions else None
