from rest_framework import serializers

from apps.datastore.choices import KeyScope


class KeyWriteSerializer(serializers.Serializer):
    """The body of `PUT /api/v1/keys/<name>`."""

    value = serializers.JSONField(help_text="Any JSON value.")
    secret = serializers.BooleanField(default=False, help_text="Store encrypted, show masked.")
    ttl = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Seconds until the key is gone."
    )


class KeySerializer(serializers.Serializer):
    """A key as the API shows it; `value` is masked for secrets unless revealed."""

    name = serializers.CharField()
    scope = serializers.ChoiceField(choices=KeyScope.choices)
    user = serializers.CharField(source="user.username", allow_null=True, default=None)
    value = serializers.JSONField(source="shown_value")
    secret = serializers.BooleanField(source="is_secret")
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class KeyQuerySerializer(serializers.Serializer):
    scope = serializers.CharField(required=False)
    prefix = serializers.CharField(required=False, default="")
    user = serializers.CharField(required=False, default="", help_text="another user's keys")
    show_secrets = serializers.BooleanField(required=False, default=False)
    decrypt = serializers.BooleanField(required=False, default=False, help_text="show_secrets")
