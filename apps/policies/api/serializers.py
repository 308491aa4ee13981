from rest_framework import serializers

from apps.policies.models import Policy


class PolicySerializer(serializers.ModelSerializer):
    """A policy in StackStorm's shape: resource_ref, policy_type, parameters, enabled."""

    pack = serializers.SlugRelatedField(slug_field="ref", read_only=True)
    enabled = serializers.BooleanField(source="is_enabled")

    class Meta:
        model = Policy
        fields = [
            "ref",
            "pack",
            "name",
            "description",
            "resource_ref",
            "policy_type",
            "parameters",
            "enabled",
            "metadata_file",
            "created_at",
            "updated_at",
        ]


class PolicyWriteSerializer(serializers.Serializer):
    """The body of a create or update: the policy as in a pack's policies/*.yaml."""

    pack = serializers.RegexField(r"^[a-z0-9_]+$", required=False, default="default")
    name = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    resource_ref = serializers.CharField()
    policy_type = serializers.CharField()
    parameters = serializers.DictField(required=False)
    enabled = serializers.BooleanField(required=False, default=True)
