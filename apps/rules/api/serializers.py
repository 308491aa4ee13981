from rest_framework import serializers

from apps.rules.models import Rule, RuleEnforcement


class RuleSerializer(serializers.ModelSerializer):
    """A rule in StackStorm's shape: trigger {type, parameters}, criteria, action {ref,
    parameters}, enabled."""

    pack = serializers.SlugRelatedField(slug_field="ref", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    trigger = serializers.SerializerMethodField()
    action = serializers.SerializerMethodField()
    enabled = serializers.BooleanField(source="is_enabled")

    class Meta:
        model = Rule
        fields = [
            "ref",
            "pack",
            "name",
            "description",
            "trigger",
            "criteria",
            "action",
            "enabled",
            "owner",
            "created_at",
            "updated_at",
        ]

    def get_trigger(self, rule) -> dict:
        return {"type": rule.trigger_ref, "parameters": rule.trigger_parameters}

    def get_action(self, rule) -> dict:
        return {"ref": rule.action_ref, "parameters": rule.action_parameters}


class RuleWriteSerializer(serializers.Serializer):
    """The body of a create or update: the rule as in a pack's rules/*.yaml."""

    pack = serializers.RegexField(r"^[a-z0-9_]+$", required=False, default="default")
    name = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    trigger = serializers.DictField()
    criteria = serializers.DictField(required=False)
    action = serializers.DictField()
    enabled = serializers.BooleanField(required=False, default=True)


class RuleTestSerializer(serializers.Serializer):
    payload = serializers.JSONField()


class RuleEnforcementSerializer(serializers.ModelSerializer):
    class Meta:
        model = RuleEnforcement
        fields = [
            "id",
            "rule_ref",
            "trigger_instance",
            "status",
            "execution",
            "reason",
            "criteria_results",
            "enforced_at",
        ]
