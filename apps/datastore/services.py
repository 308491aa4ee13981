"""Read, write and delete datastore keys; encrypt secrets; purge expired keys.

Every caller is a `KeyCaller`: a person through the API, or an action or sensor process
through its execution or sensor token. Authorization happens in `authorize` alone, so roles
can be slotted in there later.
"""

import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.actions.parameters import SECRET_MASK
from apps.audit.choices import AuditAction
from apps.audit.services import record_event
from apps.core.crypto import decrypt_json, encrypt_json
from apps.core.exceptions import NotFound, PermissionDenied
from apps.datastore.choices import KeyScope
from apps.datastore.exceptions import InvalidKey
from apps.datastore.models import KeyValuePair, encryption_context
from apps.datastore.revealed import remember_revealed
from apps.rbac.authorization import grants_of, is_admin

logger = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[^\s/]{1,500}$")
VALUE_MAX_BYTES = 1024 * 1024
TTL_MAX_SECONDS = 10 * 365 * 24 * 3600
LIST_SCOPES = {"all", KeyScope.SYSTEM, KeyScope.USER}


@dataclass(frozen=True)
class KeyCaller:
    """Who is asking: a user (None for a process that runs for no one) and how.

    `is_process` is an action or sensor using its own token; `execution_id` names an action's
    execution, so what it decrypts is masked in that execution's record.
    """

    user: object
    is_process: bool = False
    label: str = ""
    execution_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and is_admin(self.user)


def check_scope(scope: str, allowed=(KeyScope.SYSTEM, KeyScope.USER)) -> str:
    if scope not in allowed:
        choices = ", ".join(sorted(allowed))
        raise InvalidKey(f"scope must be one of {choices}, got {scope!r}")
    return scope


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name or ""):
        raise InvalidKey("key names are 1 to 500 characters, without spaces or '/'")
    return name


def owner_for(caller: KeyCaller, scope: str, username: str = ""):
    """The owner a key of `scope` belongs to for this caller (None for system keys): the
    caller, or the user named `username` (None when there is no such user)."""
    if scope != KeyScope.USER:
        if username:
            raise InvalidKey("user applies to user-scoped keys only")
        return None
    if caller.user is None:
        raise InvalidKey(f"{caller.label or 'this caller'} runs for no user: no user-scoped keys")
    if not username or username == caller.user.get_username():
        return caller.user
    return get_user_model().objects.filter(username=username).first()


def authorize(caller: KeyCaller, permission: str, scope: str, owner=None, name: str = "") -> None:
    """Every identity may use system keys (they are shared) and its own user keys. Another
    user's keys need a role granting `permission` (on every key, or on keys of that name);
    without one they do not exist (404, never 403). Secret values are revealed by
    `may_reveal`, which asks apps.rbac who is an admin.
    """
    if scope != KeyScope.USER or (owner is not None and owner == caller.user):
        return
    grants = grants_of(caller.user) if caller.user is not None else None
    if owner is not None and grants is not None and grants.allows(permission, "", name):
        return
    if owner is not None and grants is not None and grants.allows("key_view", "", name):
        raise PermissionDenied(f"you may not {permission.split('_')[1]} {owner}'s key {name!r}")
    raise NotFound(f"no key {name!r} in scope user" if name else "no such user keys")


def may_reveal(caller: KeyCaller, pair: KeyValuePair) -> bool:
    """Admins and the owner of a user key may see a secret's value, and so may their actions;
    a process that runs for no one (a sensor, an ownerless pack rule's action) may too.

    An action run by someone else gets no more than its user would through the API.
    """
    if caller.is_admin or (caller.is_process and caller.user is None):
        return True
    return pair.scope == KeyScope.USER and pair.user_id == getattr(caller.user, "pk", None)


def find_key(caller: KeyCaller, name: str, scope: str, username: str = "") -> KeyValuePair:
    """The live key `name` of `scope` (of user `username`) visible to the caller, or 404."""
    check_scope(scope)
    owner = owner_for(caller, scope, username)
    authorize(caller, "key_view", scope, owner, name)
    pair = KeyValuePair.objects.live().in_scope(scope, owner).filter(name=name).first()
    if pair is None:
        raise NotFound(f"no key {name!r} in scope {scope}")
    return pair


def list_keys(caller: KeyCaller, scope: str = "all", prefix: str = "", username: str = ""):
    """The live keys of `scope` (`all`: system keys and the caller's own), by name."""
    check_scope(scope, LIST_SCOPES)
    keys = KeyValuePair.objects.live().select_related("user")
    if scope == "all":
        if username:
            raise InvalidKey("user applies to user-scoped keys only")
        system = keys.in_scope(KeyScope.SYSTEM, None)
        keys = system | keys.in_scope(KeyScope.USER, caller.user) if caller.user else system
    else:
        owner = owner_for(caller, scope, username)
        authorize(caller, "key_list", scope, owner)
        keys = keys.in_scope(scope, owner)
    if prefix:
        keys = keys.filter(name__startswith=prefix)
    return keys.order_by("scope", "name")


def set_key(
    caller: KeyCaller,
    name: str,
    value,
    *,
    scope: str = KeyScope.SYSTEM,
    is_secret: bool = False,
    ttl: int | None = None,
    username: str = "",
) -> tuple[KeyValuePair, bool]:
    """Create or replace a key; return it and whether it was created.

    A secret's value is stored only encrypted. An expired key is replaced as if it were new.
    """
    check_name(name)
    check_scope(scope)
    owner = owner_for(caller, scope, username)
    authorize(caller, "key_view", scope, owner, name)  # others' keys: 404 before anything
    check_value(value, ttl)
    fields = stored_fields(value, scope, owner, name, is_secret, ttl)
    try:
        with transaction.atomic():
            pair, created = write_key(caller, scope, owner, name, fields)
    except IntegrityError:  # created by a concurrent request meanwhile: now it is an update
        with transaction.atomic():
            pair, created = write_key(caller, scope, owner, name, fields)
    logger.info(
        "key %s scope=%s user_id=%s secret=%s by %s",
        "created" if created else "updated",
        scope,
        getattr(owner, "pk", None),
        is_secret,
        caller.label,
    )
    return pair, created


def write_key(caller, scope, owner, name, fields) -> tuple[KeyValuePair, bool]:
    existing = (
        KeyValuePair.objects.select_for_update().in_scope(scope, owner).filter(name=name).first()
    )
    is_new = (
        existing is None
        or existing.expires_at is not None
        and (existing.expires_at <= timezone.now())
    )
    authorize(caller, "key_create" if is_new else "key_modify", scope, owner, name)
    action = AuditAction.CREATE if is_new else AuditAction.CHANGE
    record_key_event(action, scope, owner, name, fields)
    if existing is None:
        return KeyValuePair.objects.create(name=name, scope=scope, user=owner, **fields), True
    for field, value in fields.items():
        setattr(existing, field, value)
    existing.save()
    return existing, is_new


def record_key_event(action: str, scope: str, owner, name: str, fields: dict) -> None:
    """Audit a key change: which key and whether it is secret, never its value."""
    detail = {"scope": scope, "owner": getattr(owner, "username", None)}
    if fields:
        detail.update(is_secret=fields["is_secret"], expires_at=fields["expires_at"])
    record_event(action, "key", f"{scope}:{name}", detail=json_safe(detail))


def json_safe(detail: dict) -> dict:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in detail.items()}


def check_value(value, ttl) -> None:
    if len(json.dumps(value)) > VALUE_MAX_BYTES:
        raise InvalidKey(f"values are at most {VALUE_MAX_BYTES} bytes of JSON")
    if ttl is not None and not (isinstance(ttl, int) and 0 < ttl <= TTL_MAX_SECONDS):
        raise InvalidKey(f"ttl must be a whole number of seconds from 1 to {TTL_MAX_SECONDS}")


def stored_fields(value, scope, owner, name, is_secret, ttl) -> dict:
    context = encryption_context(scope, getattr(owner, "pk", None), name)
    return {
        "value": None if is_secret else value,
        "encrypted_value": encrypt_json(value, context) if is_secret else "",
        "is_secret": is_secret,
        "expires_at": timezone.now() + timedelta(seconds=ttl) if ttl else None,
    }


def delete_key(caller: KeyCaller, name: str, scope: str = KeyScope.SYSTEM, username="") -> None:
    """Delete a live key, or 404."""
    with transaction.atomic():
        pair = find_key(caller, name, scope, username)
        authorize(caller, "key_delete", scope, pair.user, name)
        record_key_event(AuditAction.DELETE, scope, pair.user, name, {})
        pair.delete()
    logger.info("key deleted scope=%s by %s", scope, caller.label)


def shown_value(caller: KeyCaller, pair: KeyValuePair, *, show_secrets: bool):
    """The value as this caller may see it: a secret is masked unless asked for and allowed."""
    if not pair.is_secret:
        return pair.value
    if not show_secrets:
        return SECRET_MASK
    if not may_reveal(caller, pair):
        raise PermissionDenied(
            f"only admins (or the owner, for user keys) may see the secret {pair.name!r}"
        )
    value = decrypt_json(pair.encrypted_value, pair.encryption_context())
    if caller.execution_id is not None:
        remember_revealed(caller.execution_id, value)
    return value


def purge_expired_keys() -> int:
    """Delete expired keys to free space (reads already ignore them)."""
    deleted, _ = KeyValuePair.objects.filter(expires_at__lte=timezone.now()).delete()
    if deleted:
        logger.info("purged %s expired keys", deleted)
    return deleted
