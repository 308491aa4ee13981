"""The one authorization path: a user's compiled grants, `has_permission` for one object,
`visible_queryset` for lists and lookups, `can_create` for new content, `can_see_event` for
the live stream.

A user may do something when any of these allows it (allow-only, nothing denies):
- they are a superuser or staff, or hold the `admin` role: everything;
- a grant of one of their roles (directly or through a group) covers the permission, on
  everything, on the object's pack, or on the object itself;
- they own the object (a pack they registered and its content, a rule they created, an
  execution they started, ...): every permission on it;
- the object is public (in a system pack, or in a pack without owner: registered by the
  installation or shared by an admin) and the permission only reads or executes it.

Resources others may not read answer 404 (they are filtered out of the queryset), resources
they may read but not change answer 403.
"""

from dataclasses import dataclass, field

from django.db.models import Q

from apps.rbac.choices import resource_of, system_role_grants
from apps.rbac.resources import RESOURCES

PUBLIC_VERBS = ("list", "view", "execute")
CACHE_ATTRIBUTE = "_attune_grants"


@dataclass(frozen=True)
class Grants:
    """What one user's roles allow, compiled once per request or stream connection."""

    user_id: int | None
    is_admin: bool = False
    # permission type -> pack refs / resource refs it covers; "*" in packs: everything.
    packs: dict = field(default_factory=dict)
    refs: dict = field(default_factory=dict)

    def _names(self, permission: str) -> tuple:
        return permission, f"{resource_of(permission)}_all"

    def is_global(self, permission: str) -> bool:
        return self.is_admin or any("*" in self.packs.get(p, ()) for p in self._names(permission))

    def allows(self, permission: str, pack_ref: str = "", ref: str = "") -> bool:
        if self.is_global(permission):
            return True
        return any(
            pack_ref in self.packs.get(name, ()) or ref in self.refs.get(name, ())
            for name in self._names(permission)
            if pack_ref or ref
        )

    def scopes(self, permissions) -> tuple[set, set]:
        """The pack refs and resource refs covered by any of `permissions`."""
        packs, refs = set(), set()
        for permission in permissions:
            for name in self._names(permission):
                packs |= self.packs.get(name, set())
                refs |= self.refs.get(name, set())
        return packs, refs


def grants_of(user) -> Grants:
    """The user's grants, cached on the user object (one object per request/connection)."""
    if user is None or not user.is_authenticated:
        return Grants(user_id=None)
    cached = getattr(user, CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = compile_grants(user)
        setattr(user, CACHE_ATTRIBUTE, cached)
    return cached


def compile_grants(user) -> Grants:
    """Read the user's enabled roles and their grants: two queries."""
    from apps.rbac.models import Role

    if user.is_superuser or user.is_staff:
        return Grants(user_id=user.pk, is_admin=True)
    roles = (
        Role.objects.filter(is_enabled=True)
        .filter(Q(assignments__user=user) | Q(assignments__group__user=user))
        .distinct()
        .prefetch_related("grants")
    )
    packs, refs = {}, {}
    for role in roles:
        if role.is_system and role.name == "admin":
            return Grants(user_id=user.pk, is_admin=True)
        entries = [(p, "", "") for p in system_role_grants(role.name)] if role.is_system else []
        entries += [(g.permission_type, g.pack_ref, g.resource_ref) for g in role.grants.all()]
        for permission, pack_ref, resource_ref in entries:
            if resource_ref:
                refs.setdefault(permission, set()).add(resource_ref)
            else:
                packs.setdefault(permission, set()).add(pack_ref or "*")
    return Grants(user_id=user.pk, packs=packs, refs=refs)


def is_admin(user) -> bool:
    return grants_of(user).is_admin


def has_permission(user, permission: str, obj) -> bool:
    """May `user` do `permission` (e.g. `action_execute`) on `obj`?"""
    grants = grants_of(user)
    resource = RESOURCES[resource_of(permission)]
    if grants.allows(permission, resource.pack_of(obj), resource.ref_of(obj)):
        return True
    if grants.user_id is not None and resource.is_owner(obj, grants.user_id):
        return True
    return permission.rsplit("_", 1)[1] in PUBLIC_VERBS and resource.is_public(obj)


def can_read(user, resource_type: str, obj) -> bool:
    """Whether `obj` is in `visible_queryset` for `user`, decided on the loaded object."""
    return any(has_permission(user, f"{resource_type}_{verb}", obj) for verb in ("view", "list"))


def visible_queryset(user, resource_type: str, queryset):
    """`queryset` narrowed to what `user` may read; the rest is as if it did not exist."""
    grants = grants_of(user)
    reads = (f"{resource_type}_view", f"{resource_type}_list")
    if any(grants.is_global(permission) for permission in reads):
        return queryset
    resource = RESOURCES[resource_type]
    visible = resource.public_q() | resource.scope_q(*grants.scopes(reads))
    if grants.user_id is not None:
        visible |= resource.owner_q(grants.user_id)
    return queryset.filter(visible)


def can_create(user, resource_type: str, pack=None) -> bool:
    """May `user` add a `resource_type` to `pack` (a Pack, or None for no registered pack)?

    The owner of a pack may add to it; others need a `<type>_create` grant on everything or
    on that pack. Anyone may keep rules outside registered packs (e.g. in `default`): such a
    rule is private to its creator and runs only actions its creator may run anyway.
    """
    grants = grants_of(user)
    pack_ref = pack.ref if pack is not None else ""
    if grants.allows(f"{resource_type}_create", pack_ref):
        return True
    if resource_type == "rule" and pack is None:
        return grants.user_id is not None
    return pack is not None and grants.user_id is not None and pack.owner_id == grants.user_id


# Which resource an event of the live stream is about, and its ref in the event's meta.
EVENT_RESOURCES = {
    "execution": ("execution", "action_ref"),
    "rule": ("rule", "rule_ref"),
    "enforcement": ("rule_enforcement", "rule_ref"),
    "trigger_instance": ("trigger_instance", "trigger_type"),
    "inquiry": ("inquiry", "action_ref"),
}


def can_see_event(grants: Grants, meta: dict) -> bool:
    """Stream check, no queries: admins and `stream_view` see all, the event's audience (its
    owners) see theirs, and view grants on its resource (everything, pack or ref) apply."""
    if grants.is_global("stream_view") or grants.user_id in meta.get("audience", ()):
        return True
    resource_type, ref_key = EVENT_RESOURCES.get(meta["type"].split(".", 1)[0], (None, None))
    if resource_type is None:
        return False
    ref = meta.get(ref_key) or ""
    return grants.allows(f"{resource_type}_view", ref.split(".", 1)[0], ref)
