from functools import cache

from rest_framework import serializers

from apps.triggers.models import TriggerInstance, TriggerType
from apps.triggers.secrets import masked_payload


def payload_secret_paths(instance: TriggerInstance) -> list:
    from apps.triggers.services import trigger_type_secret_paths  # services import this module

    return trigger_type_secret_paths(instance.trigger_ref)


class TriggerTypeSerializer(serializers.ModelSerializer):
    pack = serializers.SlugRelatedField(slug_field="ref", read_only=True)

    class Meta:
        model = TriggerType
        fields = [
            "ref",
            "pack",
            "name",
            "description",
            "payload_schema",
            "parameters_schema",
            "is_builtin",
        ]


class TriggerInstanceSerializer(serializers.ModelSerializer):
    """A trigger instance; payload fields its trigger type marks `secret` are masked unless
    the context says `show_secrets` (an admin asked)."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("show_secrets"):
            data["payload"] = masked_payload(data["payload"], payload_secret_paths(instance))
        return data

    class Meta:
        model = TriggerInstance
        fields = [
            "id",
            "trigger_ref",
            "payload",
            "source",
            "source_detail",
            "status",
            "error",
            "note",
            "occurred_at",
            "processed_at",
        ]


@cache
def _shared_instance_serializer() -> TriggerInstanceSerializer:
    return TriggerInstanceSerializer()


def trigger_instance_representation(instance: TriggerInstance) -> dict:
    """The REST representation of one instance (secret payload fields masked), from one
    serializer per process: building a ModelSerializer's fields cost more than the rest."""
    return _shared_instance_serializer().to_representation(instance)
