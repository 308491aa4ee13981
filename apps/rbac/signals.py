"""Whenever roles, grants or assignments change, cached credentials (which carry their user's
compiled grants) are dropped and open stream connections are checked again."""

from django.db.models.signals import post_delete, post_save

from apps.accounts.cache import bump_credentials_version
from apps.notifications.services import announce_access_changed
from apps.rbac.models import Grant, Role, RoleAssignment


def roles_changed(sender, **kwargs) -> None:
    bump_credentials_version()
    announce_access_changed()


def connect() -> None:
    for model in (Role, Grant, RoleAssignment):
        post_save.connect(roles_changed, sender=model, dispatch_uid=f"rbac-save-{model}")
        post_delete.connect(roles_changed, sender=model, dispatch_uid=f"rbac-del-{model}")
