from django.contrib import admin

from apps.executions.admin import pretty_json
from apps.workflows.models import TaskExecution, WorkflowExecution


class TaskExecutionInline(admin.TabularInline):
    model = TaskExecution
    fields = ["task_id", "name", "status", "action_ref", "executions", "attempt", "published"]
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

    @admin.display(description="state")
    def shown_state(self, workflow):
        return pretty_json(workflow.state)

    def has_add_permission(self, request):
        return False


@admin.register(TaskExecution)
class TaskExecutionAdmin(admin.ModelAdmin):
    list_display = ["workflow", "task_id", "name", "status", "action_ref", "attempt"]
    list_filter = ["status"]
    search_fields = ["=workflow__execution__id", "name"]
    readonly_fields = [f.name for f in TaskExecution._meta.fields]

    def has_add_permission(self, request):
        return False
