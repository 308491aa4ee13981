from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.pagination import NewestFirstCursorPagination
from apps.core.exceptions import PermissionDenied
from apps.rbac.authorization import is_admin
from apps.rbac.drf import ScopedViewMixin
from apps.triggers import services
from apps.triggers.api.filters import TriggerInstanceFilter
from apps.triggers.api.serializers import TriggerInstanceSerializer, TriggerTypeSerializer
from apps.triggers.models import TriggerInstance, TriggerType


class TriggerTypeViewSet(
    ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Trigger types, looked up by ref."""

    rbac_resource = "trigger_type"

    queryset = TriggerType.objects.select_related("pack")
    serializer_class = TriggerTypeSerializer
    lookup_field = "ref"
    lookup_value_regex = r"[^/]+"
    filterset_fields = ["pack__ref", "is_builtin"]


class TriggerInstanceViewSet(
    ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """What happened: trigger instances, newest first; re-emit one to run its rules again."""

    queryset = TriggerInstance.objects.select_related("trigger_type__pack")
    rbac_resource = "trigger_instance"
    rbac_verbs = {"reemit": "execute"}
    serializer_class = TriggerInstanceSerializer
    filterset_class = TriggerInstanceFilter
    pagination_class = NewestFirstCursorPagination

    def get_serializer_context(self):
        """`?show_secrets=true` reveals secret payload fields, to admins only."""
        asked = self.request.query_params.get("show_secrets", "").lower() in ("1", "true", "yes")
        if asked and not is_admin(self.request.user):
            raise PermissionDenied("only admins may see secret payload fields")
        return {**super().get_serializer_context(), "show_secrets": asked}

    @extend_schema(request=None, responses={202: TriggerInstanceSerializer})
    @action(detail=True, methods=["post"])
    def reemit(self, request, pk=None):
        instance = services.reemit_trigger_instance(self.get_object().pk)
        return Response(TriggerInstanceSerializer(instance).data, status=status.HTTP_202_ACCEPTED)
