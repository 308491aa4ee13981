"""The datastore in templates: `st2kv.system.<name>` and `st2kv.user.<name>`.

Keys load lazily, one query per key a template names (and none when it names none), so
offering `st2kv` to every rule and action default costs nothing on the hot path.
"""

from jinja2 import StrictUndefined

from apps.core.crypto import decrypt_json
from apps.core.templating import SecretValue
from apps.datastore.choices import KeyScope
from apps.datastore.models import KeyValuePair
from apps.executions.masking import MIN_MASKED_LENGTH


class KeyLookup:
    """One scope's keys, looked up as template attributes or items (`['a.b']`)."""

    def __init__(self, scope: str, user, revealed: list):
        self._scope = scope
        self._user = user
        self._revealed = revealed
        self._loaded = {}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str):
        if name not in self._loaded:
            self._loaded[name] = self._load(str(name))
        return self._loaded[name]

    def _load(self, name: str):
        label = f"st2kv.{self._scope}.{name}"
        if self._scope == KeyScope.USER and self._user is None:
            return StrictUndefined(hint=f"{label}: this runs for no user, so has no user keys")
        pair = KeyValuePair.objects.live().in_scope(self._scope, self._user).filter(name=name)
        pair = pair.first()
        if pair is None:
            return StrictUndefined(name=label)
        if pair.is_secret:
            return SecretValue(label, lambda: self._reveal(pair))
        return pair.value

    def _reveal(self, pair: KeyValuePair):
        value = decrypt_json(pair.encrypted_value, pair.encryption_context())
        self._revealed.extend(string_leaves(value))
        return value


class Datastore:
    """The `st2kv` template variable for one user (None: a run with no user)."""

    def __init__(self, user):
        self.revealed = []  # strings `decrypt_kv` produced; they must stay secret
        self.system = KeyLookup(KeyScope.SYSTEM, user, self.revealed)
        self.user = KeyLookup(KeyScope.USER, user, self.revealed)


def string_leaves(value) -> list[str]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in string_leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in string_leaves(item)]
    return [value] if isinstance(value, str) else [str(value)] if value is not None else []


def parameters_holding_secrets(values: dict, secret_names, revealed: list[str]) -> list[str]:
    """Names of non-secret parameters that hold a revealed secret string (whole or in part).

    Such a value would go into argv, the environment or the execution record in the clear.
    """
    needles = [needle for needle in set(revealed) if len(needle) >= MIN_MASKED_LENGTH]
    if not needles:
        return []
    return sorted(
        name
        for name, value in values.items()
        if name not in secret_names
        and any(needle in leaf for leaf in string_leaves(value) for needle in needles)
    )
