"""Resource types and permission types (StackStorm's allow-only RBAC vocabulary)."""

RESOURCE_TYPES = (
    "pack",
    "action",
    "rule",
    "rule_enforcement",
    "trigger_type",
    "trigger_instance",
    "sensor",
    "execution",
    "inquiry",
    "key",
    "webhook",
    "stream",
    "policy",
)
VERBS = ("list", "view", "create", "modify", "delete", "execute", "respond", "all")
PERMISSION_TYPES = tuple(f"{resource}_{verb}" for resource in RESOURCE_TYPES for verb in VERBS)

# StackStorm names that mean one of ours, so its role files load unchanged.
PERMISSION_ALIASES = {
    "webhook_send": "webhook_execute",
    "execution_stop": "execution_modify",
    "execution_re_run": "action_execute",
    "pack_register": "pack_create",
    "pack_install": "pack_create",
    "pack_uninstall": "pack_delete",
    "key_value_pair_set": "key_modify",
}
RESOURCE_ALIASES = {"sensor_type": "sensor", "trigger": "trigger_type", "key_value_pair": "key"}

READ_VERBS = ("list", "view")
SYSTEM_ROLES = ("admin", "operator", "viewer")


def resource_of(permission_type: str) -> str:
    """`action_execute` -> `action`; `rule_enforcement_view` -> `rule_enforcement`."""
    return permission_type.rsplit("_", 1)[0]


def system_role_grants(role: str) -> list[str]:
    """The permission types of a system role (all global)."""
    if role == "admin":
        return [f"{resource}_all" for resource in RESOURCE_TYPES]
    readable = [f"{resource}_{verb}" for resource in RESOURCE_TYPES for verb in READ_VERBS]
    if role == "viewer":
        return readable
    return [*readable, "action_execute", "inquiry_respond", "execution_modify", "webhook_execute"]
