"""Who a stream connection speaks for now, and what they may see (after an access change)."""

from apps.notifications.authentication import authenticate_scope
from apps.rbac.authorization import Grants, compile_grants


def current_access(scopes: list[dict]) -> list[Grants | None]:
    """For each connection scope, the grants of the user its credentials name now, or None
    when they no longer authenticate (a revoked token or API key, a deactivated user).
    Grants are compiled once per user, however many connections they hold."""
    grants_by_user: dict = {}
    found = []
    for scope in scopes:
        user = authenticate_scope(scope)
        if user is None:
            found.append(None)
            continue
        if user.pk not in grants_by_user:
            grants_by_user[user.pk] = compile_grants(user)
        found.append(grants_by_user[user.pk])
    return found
