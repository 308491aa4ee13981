from rest_framework import serializers

from apps.workflows.models import TaskExecution, WorkflowExecution


class TaskExecutionSerializer(serializers.ModelSerializer):
    """A task instance: its child execution(s), outcome and published variables."""

    execution = serializers.IntegerField(source="execution_id", read_only=True)

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
        return workflow.state.get("output")

    def get_errors(self, workflow) -> list:
        return workflow.state.get("errors", [])


class RerunRequestSerializer(serializers.Serializer):
    tasks = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    reset = serializers.ListField(child=serializers.CharField(), required=False, default=list)
