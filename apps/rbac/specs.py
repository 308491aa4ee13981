"""Parse StackStorm's RBAC files: `roles/*.yaml` and `assignments/*.yaml` (no Django models).

A role: `name`, `description`, `enabled`, `permission_grants: [{resource_uid?,
permission_types: [...]}]`. An assignment: `username` (or `group`), `roles: [...]`,
`description`, `enabled`. `resource_uid` is `pack:<pack>` (everything of the permission's type
in that pack) or `<type>:<pack>:<name>` / `<type>:<name>` (one resource).
"""

from dataclasses import dataclass

from apps.core.exceptions import InvalidInput
from apps.rbac.choices import PERMISSION_ALIASES, PERMISSION_TYPES, RESOURCE_ALIASES


@dataclass(frozen=True)
class GrantSpec:
    permission_type: str
    pack_ref: str = ""
    resource_ref: str = ""

    @property
    def resource_uid(self) -> str:
        if self.pack_ref:
            return f"pack:{self.pack_ref}"
        if self.resource_ref:
            resource = self.permission_type.rsplit("_", 1)[0]
            return f"{resource}:{self.resource_ref.replace('.', ':', 1)}"
        return ""


@dataclass(frozen=True)
class RoleSpec:
    name: str
    description: str
    is_enabled: bool
    grants: tuple


@dataclass(frozen=True)
class AssignmentSpec:
    roles: tuple
    username: str = ""
    group: str = ""
    description: str = ""
    is_enabled: bool = True


def normalize_permission(name) -> str:
    """Our name of a permission type (StackStorm's names accepted), or InvalidInput."""
    if not isinstance(name, str):
        raise InvalidInput(f"permission types are strings, got {name!r}")
    name = PERMISSION_ALIASES.get(name, name)
    if name in PERMISSION_TYPES:
        return name
    resource, _, verb = name.rpartition("_")
    candidate = f"{RESOURCE_ALIASES.get(resource, resource)}_{verb}"
    if candidate not in PERMISSION_TYPES:
        raise InvalidInput(f"unknown permission type {name!r}")
    return candidate


def parse_resource_uid(uid) -> tuple[str, str]:
    """`pack:x` -> ("x", ""); `action:x:echo` -> ("", "x.echo"); "" -> ("", "")."""
    if uid in (None, ""):
        return "", ""
    if not isinstance(uid, str) or ":" not in uid:
        raise InvalidInput(f"resource_uid must look like <type>:<ref>, got {uid!r}")
    kind, *parts = uid.split(":")
    if not all(parts):
        raise InvalidInput(f"resource_uid {uid!r} has an empty part")
    if kind == "pack":
        return parts[0], ""
    if RESOURCE_ALIASES.get(kind, kind) == "key":
        return "", parts[-1]  # StackStorm: key_value_pair:<scope>:<name>
    return "", ".".join(parts)


def parse_grants(raw) -> tuple:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput("permission_grants must be a list")
    grants = []
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("permission_types"), list):
            raise InvalidInput("each permission grant needs a permission_types list")
        pack_ref, resource_ref = parse_resource_uid(entry.get("resource_uid"))
        for permission in entry["permission_types"]:
            grants.append(GrantSpec(normalize_permission(permission), pack_ref, resource_ref))
    return tuple(dict.fromkeys(grants))


def parse_role(raw) -> RoleSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise InvalidInput("a role needs a name")
    return RoleSpec(
        name=raw["name"],
        description=str(raw.get("description") or ""),
        is_enabled=bool(raw.get("enabled", True)),
        grants=parse_grants(raw.get("permission_grants")),
    )


def parse_assignment(raw) -> AssignmentSpec:
    if not isinstance(raw, dict):
        raise InvalidInput("an assignment must be a mapping")
    username, group = raw.get("username") or "", raw.get("group") or ""
    if bool(username) == bool(group):
        raise InvalidInput("an assignment names either a username or a group")
    roles = raw.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidInput("roles must be a list of role names")
    return AssignmentSpec(
        roles=tuple(roles),
        username=str(username),
        group=str(group),
        description=str(raw.get("description") or ""),
        is_enabled=bool(raw.get("enabled", True)),
    )
