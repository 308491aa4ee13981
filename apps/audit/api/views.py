from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAdminUser

from apps.audit.api.filters import AuditEventFilter
from apps.audit.api.serializers import AuditEventSerializer
from apps.audit.models import AuditEvent
from apps.core.api.pagination import NewestFirstCursorPagination


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit trail, newest first; staff only (roles will refine this)."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    pagination_class = NewestFirstCursorPagination
    permission_classes = [IsAdminUser]
