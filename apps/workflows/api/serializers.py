from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.executions.models import Execution
from apps.workflows.models import TaskExecution, WorkflowExecution


class TaskExecutionSerializer(serializers.ModelSerializer):
    """A task instance: its child execution(s), outcome and published variables, with the
    workflow's secret parameter values masked."""

    execution = serializers.IntegerField(source="execution_id", read_only=True)
    context = serializers.SerializerMethodField()
    published = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()

    class Meta:
        model = TaskExecution
        fields = [
            "task_id",
            "name",
            "status",
            "action_ref",
            "execution",
            "executions",
            "items",
            "attempt",
            "context",
            "published",
            "result",
            "created_at",
            "updated_at",
        ]

    def get_context(self, task) -> dict:
        return task.workflow.mask(task.context)

    def get_published(self, task) -> dict:
        return task.workflow.mask(task.published)

    def get_items(self, task) -> list | None:
        return task.workflow.mask(task.items)

    @extend_schema_field(OpenApiTypes.ANY)
    def get_result(self, task):
        return task.workflow.mask(task.result)


class WorkflowSerializer(serializers.ModelSerializer):
    """A workflow execution with its task instances in the order they started."""

    execution = serializers.IntegerField(source="pk", read_only=True)
    action = serializers.CharField(source="execution.action_ref", read_only=True)
    output = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()
    tasks = TaskExecutionSerializer(many=True, read_only=True)

    class Meta:
        model = WorkflowExecution
        fields = ["execution", "action", "status", "output", "errors", "tasks", "created_at"]

    def get_output(self, workflow) -> dict | None:
        return workflow.mask(workflow.state.get("output"))

    def get_errors(self, workflow) -> list:
        return workflow.mask(workflow.state.get("errors", []))


class WorkflowRerunRequestSerializer(serializers.Serializer):
    tasks = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    reset = serializers.ListField(child=serializers.CharField(), required=False, default=list)


class RerunExecutionSerializer(serializers.ModelSerializer):
    """The execution a re-run requested (follow it at /api/v1/executions/<id>)."""

    action = serializers.CharField(source="action_ref")

    class Meta:
        model = Execution
        fields = ["id", "action", "status", "rerun_of", "requested_at"]
