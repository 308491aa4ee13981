"""Authorize the writes that create content (pack registration, executions, rules) and manage
roles and their assignments."""

import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.accounts.cache import CredentialCache
from apps.accounts.services import with_grants
from apps.actions.models import Action
from apps.audit.choices import AuditAction
from apps.audit.services import record_event
from apps.core.cache import ContentCache
from apps.core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from apps.rbac.authorization import (
    can_create,
    can_read,
    grants_of,
    has_permission,
)
from apps.rbac.models import Grant, Role, RoleAssignment
from apps.rbac.specs import AssignmentSpec, RoleSpec

logger = logging.getLogger(__name__)


def register_pack_as(user, shared: bool, register):
    """Run `register(owner)` (which returns the Pack) for `user`, all or nothing.

    Registering needs `pack_create`; the pack becomes the user's, or, `shared` (admins only),
    no one's: public like the installation's own packs. Registering again an existing pack
    needs `pack_modify` on it (its owner has it; its owner stays); system packs are registered
    and changed by admins only (T3.11).
    """
    if not can_create(user, "pack"):
        raise PermissionDenied("registering packs needs the pack_create permission")
    if shared and not grants_of(user).is_admin:
        raise PermissionDenied("only admins may share a pack with everyone")
    with transaction.atomic():
        pack = register(None if shared else user)
        if pack.is_system and not grants_of(user).is_admin:
            raise PermissionDenied(f"only admins may register or change system pack {pack.ref}")
        if not has_permission(user, "pack_modify", pack):
            raise PermissionDenied(f"pack {pack.ref} belongs to someone else")
    return pack


# Actions with their pack, by ref, for authorizing execution requests: compiled once per
# content version (pack registrations, and admin edits of packs and actions, bump it), so a
# request costs no query. The instances are shared between threads: read them, never change them.
_actions_with_pack = ContentCache()


def load_action_with_pack(action_ref: str) -> Action | None:
    return Action.objects.select_related("pack").filter(ref=action_ref).first()


def runnable_action(user, action_ref: str) -> Action:
    """The action `user` asks to run: 404 when they cannot see it, 403 when they may only look."""
    action = _actions_with_pack.get(action_ref, load_action_with_pack)
    if action is None or not can_read(user, "action", action):
        raise NotFound(f"no action {action_ref!r}")
    if not has_permission(user, "action_execute", action):
        raise PermissionDenied(f"you may not run {action_ref}")
    return action


# Rule owners as they are now, for the rules engine: reloaded with their grants whenever a user,
# role, grant, assignment or group membership changes (the credentials version moves), and at
# most every ATTUNE_AUTH_CACHE_SECONDS otherwise, as a login is.
_rule_owners = CredentialCache()


def owner_may_run(owner_id: int, action_ref: str, credentials_version) -> bool:
    """Whether a rule's owner may still run its action: their roles may have changed since the
    rule was saved (checked then by `check_rule_action`). An action that no longer exists is
    left to the execution request, which says so."""
    action = _actions_with_pack.get(action_ref, load_action_with_pack)
    if action is None:
        return True
    owner = current_rule_owner(owner_id, credentials_version)
    return owner is not None and has_permission(owner, "action_execute", action)


def current_rule_owner(owner_id: int, credentials_version):
    key = ("rule-owner", str(owner_id))
    entry = _rule_owners.get(key, credentials_version)
    if entry is not None:
        return entry.user
    owner = get_user_model().objects.filter(pk=owner_id, is_active=True).first()
    if owner is not None:
        _rule_owners.put(key, credentials_version, with_grants(owner), float("inf"))
    return owner


def check_rule_action(user, action_ref: str) -> None:
    """A rule runs its action on its owner's behalf, so its owner must be allowed to run it
    (an action that does not exist yet is checked when it runs)."""
    action = Action.objects.select_related("pack").filter(ref=action_ref).first()
    if action is not None and not has_permission(user, "action_execute", action):
        raise PermissionDenied(f"you may not run {action_ref}, so no rule of yours may")


def may_send_webhook(user, name: str, owner_ids, is_public: bool) -> bool:
    """Send to a webhook: its rules' owners, anyone when a rule nobody owns listens, and
    holders of `webhook_execute` (on everything or on this webhook's name)."""
    grants = grants_of(user)
    return is_public or grants.user_id in owner_ids or grants.allows("webhook_execute", "", name)


def save_role(spec: RoleSpec, *, source: str = "") -> Role:
    """Create or replace the role `spec.name` and its grants; system roles are fixed."""
    with transaction.atomic():
        role = Role.objects.select_for_update().filter(name=spec.name).first()
        if role is not None and role.is_system:
            raise Conflict(f"role {spec.name!r} is a system role and cannot be changed")
        fields = {"description": spec.description, "is_enabled": spec.is_enabled}
        role, created = Role.objects.update_or_create(
            name=spec.name, defaults={**fields, "source": source}
        )
        role.grants.all().delete()
        Grant.objects.bulk_create(
            Grant(
                role=role,
                permission_type=g.permission_type,
                pack_ref=g.pack_ref,
                resource_ref=g.resource_ref,
            )
            for g in spec.grants
        )
        record_event(AuditAction.CREATE if created else AuditAction.CHANGE, "role", role.name)
    logger.info("role=%s saved with %s grants", role.name, len(spec.grants))
    return role


def delete_role(role: Role) -> None:
    if role.is_system:
        raise Conflict(f"role {role.name!r} is a system role and cannot be deleted")
    with transaction.atomic():
        role.delete()
        record_event(AuditAction.DELETE, "role", role.name)


def assign_role(role: Role, *, user=None, group=None, description="", source="") -> RoleAssignment:
    """Give `role` to one user or to a group's members (once; a repeat is a 409)."""
    if (user is None) == (group is None):
        raise InvalidInput("assign a role to either a user or a group")
    holder = {"user": user} if user is not None else {"group": group}
    with transaction.atomic():
        if RoleAssignment.objects.filter(role=role, **holder).exists():
            raise Conflict(f"{user or group} already holds role {role.name}")
        assignment = RoleAssignment.objects.create(
            role=role, description=description, source=source, **holder
        )
        record_event(AuditAction.CREATE, "role_assignment", str(assignment))
    return assignment


def unassign_role(assignment: RoleAssignment) -> None:
    with transaction.atomic():
        assignment.delete()
        record_event(AuditAction.DELETE, "role_assignment", str(assignment))


def load_rbac(roles: dict, assignments: dict) -> dict:
    """Make the database hold exactly the given files' roles and assignments, all or nothing.

    `roles` and `assignments` map a file name to its parsed spec. What an earlier load created
    from files and the files no longer hold is removed; roles and assignments made through the
    API or the admin are left alone.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    users = get_user_model().objects
    with transaction.atomic():
        kept_roles = [save_role(spec, source=name).pk for name, spec in roles.items()]
        Role.objects.exclude(source="").exclude(pk__in=kept_roles).delete()
        RoleAssignment.objects.exclude(source="").delete()
        count = 0
        for name, spec in assignments.items():
            if not spec.is_enabled:
                continue
            holder = assignment_holder(spec, users, Group, name)
            for role_name in spec.roles:
                role = Role.objects.filter(name=role_name).first()
                if role is None:
                    raise InvalidInput(f"{name}: no role named {role_name!r}")
                RoleAssignment.objects.get_or_create(
                    role=role, **holder, defaults={"description": spec.description, "source": name}
                )
                count += 1
    return {"roles": len(roles), "assignments": count}


def assignment_holder(spec: AssignmentSpec, users, group_model, file_name: str) -> dict:
    if spec.group:
        return {"group": group_model.objects.get_or_create(name=spec.group)[0]}
    user = users.filter(username=spec.username).first()
    if user is None:
        raise InvalidInput(f"{file_name}: no user named {spec.username!r}")
    return {"user": user}
