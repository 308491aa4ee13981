from functools import cache

from rest_framework import serializers

from apps.executions.models import Execution


class ExecutionSerializer(serializers.ModelSerializer):
    """An execution as the API shows it: secret parameters masked."""

    action = serializers.CharField(source="action_ref")
    parameters = serializers.SerializerMethodField()
    runner_type = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Execution
        fields = [
            "id",
            "action",
            "runner_type",
            "status",
            "parameters",
            "result",
            "stdout",
            "stderr",
            "exit_code",
            "error",
            "context",
            "parent",
            "rerun_of",
            "created_by",
            "worker",
            "requested_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
        ]

    def get_parameters(self, execution) -> dict:
        return execution.masked_parameters()

    def get_runner_type(self, execution) -> str:
        return execution.action_snapshot.get("runner_type", "")


@cache
def _shared_serializer() -> ExecutionSerializer:
    return ExecutionSerializer()


def execution_representation(execution: Execution) -> dict:
    """The REST representation of one execution, from one serializer per process.

    A ModelSerializer builds its fields on first use, about a millisecond (more than the rest of
    the representation), on every request and every status change; these fields keep no state.
    """
    return _shared_serializer().to_representation(execution)


class ExecutionRequestSerializer(serializers.Serializer):
    action = serializers.CharField(help_text="Action ref, e.g. core.local")
    parameters = serializers.DictField(required=False, default=dict)


class RerunRequestSerializer(serializers.Serializer):
    parameters = serializers.DictField(required=False, default=dict)


class ExecutionOutputSerializer(serializers.Serializer):
    """What an execution printed (documentation of the output endpoint's answer)."""

    execution = serializers.IntegerField()
    status = serializers.CharField()
    stdout = serializers.CharField()
    stderr = serializers.CharField()
    complete = serializers.BooleanField(help_text="false while it still runs")
