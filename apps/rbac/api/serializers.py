from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework import serializers

from apps.rbac.choices import system_role_grants
from apps.rbac.models import Role, RoleAssignment
from apps.rbac.specs import GrantSpec


class RoleSerializer(serializers.ModelSerializer):
    enabled = serializers.BooleanField(source="is_enabled", read_only=True)
    permission_grants = serializers.SerializerMethodField()

    class Meta:
        model = Role
        fields = ["name", "description", "enabled", "is_system", "permission_grants", "source"]

    def get_permission_grants(self, role) -> list:
        """StackStorm's shape: one entry per resource, listing its permission types."""
        if role.is_system:
            return [{"permission_types": system_role_grants(role.name)}]
        grouped = {}
        for grant in role.grants.all():
            uid = GrantSpec(grant.permission_type, grant.pack_ref, grant.resource_ref).resource_uid
            grouped.setdefault(uid, []).append(grant.permission_type)
        return [
            {**({"resource_uid": uid} if uid else {}), "permission_types": types}
            for uid, types in grouped.items()
        ]


class RoleWriteSerializer(serializers.Serializer):
    """The StackStorm role file's fields; grants are checked by apps.rbac.specs."""

    name = serializers.SlugField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    enabled = serializers.BooleanField(required=False, default=True)
    permission_grants = serializers.ListField(child=serializers.DictField(), default=list)


class AssignmentSerializer(serializers.ModelSerializer):
    role = serializers.SlugRelatedField(slug_field="name", queryset=Role.objects.all())
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
    )
    group = serializers.SlugRelatedField(
        slug_field="name", queryset=Group.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = RoleAssignment
        fields = ["id", "role", "user", "group", "description", "source", "created_at"]
        read_only_fields = ["source", "created_at"]
        validators = []  # one holder and no repeats: checked by services.assign_role
