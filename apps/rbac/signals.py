"""Open stream connections are checked again whenever roles, grants or assignments change."""

from django.db.models.signals import post_delete, post_save

from apps.notifications.services import announce_access_changed
from apps.rbac.models import Grant, Role, RoleAssignment


def roles_changed(sender, **kwargs) -> None:
    announce_access_changed()


def connect() -> None:
    for model in (Role, Grant, RoleAssignment):
        post_save.connect(roles_changed, sender=model, dispatch_uid=f"rbac-save-{model}")
        post_delete.connect(roles_changed, sender=model, dispatch_uid=f"rbac-del-{model}")
