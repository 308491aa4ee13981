from rest_framework import serializers

from apps.triggers.models import TriggerInstance, TriggerType


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
