"""DRF glue for the one authorization path: querysets narrowed by `visible_queryset`, object
actions checked by `has_permission` (a visible object the user may not change: 403)."""

from rest_framework.permissions import BasePermission

from apps.core.exceptions import PermissionDenied
from apps.packs.models import Pack
from apps.rbac.authorization import can_create, has_permission, visible_queryset

# A view's action -> the verb it needs on the object; unlisted detail actions need `view`.
ACTION_VERBS = {
    "retrieve": "view",
    "update": "modify",
    "partial_update": "modify",
    "destroy": "delete",
}


class RbacPermission(BasePermission):
    """Check the object's permission for the view's action (see `ScopedViewMixin`)."""

    message = "your roles do not allow this on this resource"

    def has_object_permission(self, request, view, obj) -> bool:
        verb = view.rbac_verbs.get(view.action) or ACTION_VERBS.get(view.action, "view")
        return has_permission(request.user, f"{view.rbac_resource}_{verb}", obj)


class ScopedViewMixin:
    """Declare `rbac_resource` (and `rbac_verbs` for custom actions) on a view set."""

    rbac_resource = ""
    rbac_verbs: dict = {}

    def get_permissions(self):
        return [*super().get_permissions(), RbacPermission()]

    def get_queryset(self):
        return visible_queryset(self.request.user, self.rbac_resource, super().get_queryset())

    def check_create(self, pack_ref: str) -> None:
        """403 naming what was asked (the same whether that pack exists or not)."""
        pack = Pack.objects.filter(ref=pack_ref).first()
        if not can_create(self.request.user, self.rbac_resource, pack):
            raise PermissionDenied(f"you may not create a {self.rbac_resource} in pack {pack_ref}")
