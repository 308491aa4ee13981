from rest_framework import serializers

from apps.runtimes.models import PackEnvironment


class PackEnvironmentSerializer(serializers.ModelSerializer):
    """A pack's environment: what it is built from and how the build went."""

    class Meta:
        model = PackEnvironment
        fields = [
            "kind",
            "sha256",
            "status",
            "is_current",
            "files",
            "defaults",
            "log",
            "requested_at",
            "built_at",
        ]
