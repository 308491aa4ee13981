from rest_framework import serializers

from apps.inquiries.models import Inquiry


class InquirySerializer(serializers.ModelSerializer):
    """An inquiry as the API, the admin and notifications show it."""

    id = serializers.IntegerField(source="pk", read_only=True)
    execution = serializers.IntegerField(source="execution_id", read_only=True)
    workflow = serializers.IntegerField(source="workflow_id", read_only=True, allow_null=True)
    responded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Inquiry
        fields = [
            "id",
            "execution",
            "workflow",
            "status",
            "prompt",
            "schema",
            "route",
            "users",
            "roles",
            "ttl",
            "created_at",
            "expires_at",
            "response",
            "responded_by",
            "responded_at",
        ]
        read_only_fields = fields


class InquiryResponseSerializer(serializers.Serializer):
    """`PUT /api/v1/inquiries/<id>`: the answer, checked against the inquiry's schema."""

    response = serializers.JSONField()
