from rest_framework import serializers

from apps.packs.models import Pack


class PackSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    content_sha256 = serializers.CharField(source="content_id", read_only=True)
    actions = serializers.SlugRelatedField(slug_field="ref", many=True, read_only=True)

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
            "registered_at",
            "updated_at",
        ]


class RegisterPackSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="A pack directory on the server.")


class UploadPackSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The pack as a .tar.gz archive.")
