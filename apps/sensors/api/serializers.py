from rest_framework import serializers

from apps.sensors.models import Sensor


class SensorSerializer(serializers.ModelSerializer):
    pack = serializers.SlugRelatedField(slug_field="ref", read_only=True)
    enabled = serializers.BooleanField(source="is_enabled")

    class Meta:
        model = Sensor
        fields = [
            "ref",
            "pack",
            "name",
            "description",
            "class_name",
            "entry_point",
            "poll_interval",
            "trigger_types",
            "enabled",
            "status",
            "pid",
            "restarts",
            "last_error",
            "started_at",
            "heartbeat_at",
            "updated_at",
        ]


class SensorUpdateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
