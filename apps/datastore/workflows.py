"""`st2kv('system.<name>')` / `st2kv('user.<name>', decrypt=true)` in workflow expressions."""

from jinja2 import Undefined

from apps.core.templating import SecretValue, decrypt_kv
from apps.workflows.expressions import ExpressionError, register_function

SCOPES = ("system", "user")


def st2kv(scope, key, decrypt=False):
    """The value of a datastore key for the workflow's requester, as StackStorm's Orquesta
    function: `system.` or `user.` names the scope; a secret needs `decrypt=true`."""
    if not isinstance(key, str):
        raise ExpressionError("st2kv: the key must be a string like 'system.<name>'")
    scope_name, _, name = key.partition(".")
    if scope_name not in SCOPES or not name:
        raise ExpressionError(f"st2kv: {key!r} must start with 'system.' or 'user.'")
    if scope.datastore is None:
        raise ExpressionError("st2kv: the datastore is not available here")
    value = getattr(scope.datastore, scope_name)[name]
    if isinstance(value, Undefined):
        raise ExpressionError(f"st2kv: key {key!r} does not exist")
    if isinstance(value, SecretValue):
        if not decrypt:
            raise ExpressionError(f"st2kv: {key!r} is a secret: use st2kv('{key}', decrypt=true)")
        return decrypt_kv(value)
    return value


def register() -> None:
    register_function("st2kv", st2kv)
