from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from apps.core.exceptions import InvalidInput
from apps.rbac import services
from apps.rbac.api.serializers import AssignmentSerializer, RoleSerializer, RoleWriteSerializer
from apps.rbac.authorization import is_admin
from apps.rbac.models import Role, RoleAssignment
from apps.rbac.specs import parse_role


class IsRbacAdmin(BasePermission):
    """Roles are managed by admins (staff, superusers, holders of the `admin` role)."""

    message = "managing roles needs the admin role"

    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)


class RoleViewSet(viewsets.ModelViewSet):
    """Roles by name, in StackStorm's role format; system roles are read-only."""

    queryset = Role.objects.prefetch_related("grants")
    serializer_class = RoleSerializer
    permission_classes = [IsRbacAdmin]
    lookup_field = "name"
    http_method_names = ["get", "post", "put", "delete", "head", "options"]

    def save(self, request, expected_name=None):
        if not isinstance(request.data, dict):
            raise InvalidInput("send the role as a JSON object")
        data = {**request.data, "name": expected_name} if expected_name else request.data
        body = RoleWriteSerializer(data=data)
        body.is_valid(raise_exception=True)
        role = services.save_role(parse_role(body.validated_data))
        return RoleSerializer(Role.objects.prefetch_related("grants").get(pk=role.pk)).data

    @extend_schema(request=RoleWriteSerializer, responses={201: RoleSerializer})
    def create(self, request):
        return Response(self.save(request), status=status.HTTP_201_CREATED)

    @extend_schema(request=RoleWriteSerializer, responses={200: RoleSerializer})
    def update(self, request, name=None, partial=False):
        return Response(self.save(request, self.get_object().name))

    def destroy(self, request, name=None):
        services.delete_role(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssignmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Who holds which role: a user or a group."""

    queryset = RoleAssignment.objects.select_related("role", "user", "group")
    serializer_class = AssignmentSerializer
    permission_classes = [IsRbacAdmin]
    filterset_fields = ["role__name", "user__username", "group__name"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.assign_role(
            data["role"],
            user=data.get("user"),
            group=data.get("group"),
            description=data.get("description", ""),
        )

    def perform_destroy(self, instance):
        services.unassign_role(instance)
