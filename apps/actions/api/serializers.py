from rest_framework import serializers

from apps.actions.models import Action


class ActionSerializer(serializers.ModelSerializer):
    pack = serializers.SlugRelatedField(slug_field="ref", read_only=True)
    enabled = serializers.BooleanField(source="is_enabled", read_only=True)

    class Meta:
        model = Action
        fields = [
            "ref",
            "pack",
            "name",
            "description",
            "runner_type",
            "entry_point",
            "parameters",
            "output_schema",
            "enabled",
            "updated_at",
        ]
