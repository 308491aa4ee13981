import json

from django.contrib import admin
from django.utils.html import format_html

from apps.executions.models import Execution


def pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    """Executions are records: operators read them here and act through the API."""

    list_display = [
        "id",
        "action_ref",
        "status",
        "created_by",
        "worker",
        "requested_at",
        "finished_at",
    ]
    list_filter = ["status", "action_ref"]
    search_fields = ["=id", "action_ref", "worker"]
    list_select_related = ["created_by"]
    show_full_result_count = False
    fields = [
        "action_ref",
        "status",
        "shown_parameters",
        "shown_result",
        "exit_code",
        "error",
        "shown_stdout",
        "shown_stderr",
        "parent",
        "rerun_of",
        "created_by",
        "worker",
        "requested_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="parameters")
    def shown_parameters(self, execution):
        return pretty_json(execution.masked_parameters())

    @admin.display(description="result")
    def shown_result(self, execution):
        return pretty_json(execution.result)

    @admin.display(description="stdout")
    def shown_stdout(self, execution):
        return live_output(execution, "stdout")

    @admin.display(description="stderr")
    def shown_stderr(self, execution):
        return live_output(execution, "stderr")

    class Media:
        js = ["executions/live_output.js"]


def live_output(execution, stream: str) -> str:
    """The stream's text; while the execution runs, live_output.js keeps appending to it."""
    return format_html(
        '<pre data-live-output="{}" data-execution="{}" data-complete="{}">{}</pre>',
        stream,
        execution.pk,
        "true" if execution.is_terminal else "false",
        getattr(execution, stream),
    )
