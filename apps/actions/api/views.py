from rest_framework import mixins, viewsets

from apps.actions.api.serializers import ActionSerializer
from apps.actions.models import Action
from apps.rbac.drf import ScopedViewMixin


class ActionViewSet(
    ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Actions of registered packs, looked up by ref (`pack.name`)."""

    rbac_resource = "action"

    queryset = Action.objects.select_related("pack")
    serializer_class = ActionSerializer
    lookup_field = "ref"
    lookup_value_regex = r"[^/]+"
    filterset_fields = ["pack__ref", "runner_type", "is_enabled"]
