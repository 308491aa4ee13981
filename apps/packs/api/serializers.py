from rest_framework import serializers

from apps.packs.models import Pack
from apps.runtimes.api.serializers import PackEnvironmentSerializer
from apps.runtimes.services import container_images


class PackSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    content_sha256 = serializers.CharField(source="content_id", read_only=True)
    actions = serializers.SlugRelatedField(slug_field="ref", many=True, read_only=True)
    environments = PackEnvironmentSerializer(many=True, read_only=True)
    images = serializers.SerializerMethodField(help_text="Images of its container actions.")

    class Meta:
        model = Pack
        fields = [
            "ref",
            "name",
            "version",
            "description",
            "author",
            "email",
            "is_system",
            "owner",
            "content_sha256",
            "source",
            "actions",
            "environments",
            "images",
            "registered_at",
            "updated_at",
        ]

    def get_images(self, pack) -> list[dict]:
        return container_images(pack.actions.all())


class RegisterPackSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="A pack directory on the server.")
    shared = serializers.BooleanField(
        default=False, help_text="Admins: a new pack everyone may see and run, owned by no one."
    )


class UploadPackSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The pack as a .tar.gz archive.")
    shared = serializers.BooleanField(default=False, help_text="As for register.")
