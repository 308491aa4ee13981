from django.contrib import admin

from apps.executions.admin import pretty_json
from apps.workflows.models import TaskExecution, WorkflowExecution


class TaskExecutionInline(admin.TabularInline):
    model = TaskExecution
    fields = ["task_id", "name", "status", "action_ref", "executions", "attempt"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(WorkflowExecution)
class WorkflowExecutionAdmin(admin.ModelAdmin):
    """Workflow runs and their tasks; operators act through the API (pause, resume, re-run)."""

    list_display = ["execution", "status", "created_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["=execution__id", "execution__action_ref"]
    fields = ["execution", "status", "shown_spec", "shown_state"]
    readonly_fields = fields
    inlines = [TaskExecutionInline]

    @admin.display(description="definition")
    def shown_spec(self, workflow):
        return pretty_json(workflow.spec)

    @admin.display(description="state (secret parameters masked)")
    def shown_state(self, workflow):
        return pretty_json(workflow.mask(workflow.state))

    def has_add_permission(self, request):
        return False


@admin.register(TaskExecution)
class TaskExecutionAdmin(admin.ModelAdmin):
    """Task instances; context, published variables and result shown with secrets masked."""

    list_display = ["workflow", "task_id", "name", "status", "action_ref", "attempt"]
    list_filter = ["status"]
    search_fields = ["=workflow__execution__id", "name"]
    list_select_related = ["workflow"]
    fields = [
        "workflow",
        "task_id",
        "name",
        "status",
        "action_ref",
        "executions",
        "attempt",
        "shown_context",
        "shown_published",
        "shown_result",
    ]
    readonly_fields = fields

    @admin.display(description="context")
    def shown_context(self, task):
        return pretty_json(task.workflow.mask(task.context))

    @admin.display(description="published")
    def shown_published(self, task):
        return pretty_json(task.workflow.mask(task.published))

    @admin.display(description="result")
    def shown_result(self, task):
        return pretty_json(task.workflow.mask(task.result))

    def has_add_permission(self, request):
        return False
