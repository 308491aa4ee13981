"""Issue and check credentials."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from apps.accounts.cache import bump_credentials_version, credentials, fresh_copy
from apps.accounts.models import ApiKey, Token, hash_secret, new_secret
from apps.audit.choices import AuditAction
from apps.audit.services import record_event
from apps.core.exceptions import AttuneError
from apps.notifications.services import announce_access_changed
from apps.rbac.authorization import grants_of

logger = logging.getLogger(__name__)

# Refresh `last_used_at` at most this often, so API-key requests do not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class InvalidCredentials(AttuneError):
    code = "invalid_credentials"
    status_code = 401


def login(username: str, password: str) -> tuple[str, Token]:
    """Check a username and password and issue a new bearer token."""
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        logger.info("login refused for username=%s", username)
        raise InvalidCredentials("Invalid username or password.")
    raw = new_secret("att")
    expires_at = timezone.now() + timedelta(seconds=settings.ATTUNE_TOKEN_TTL_SECONDS)
    token = Token.objects.create(user=user, key_hash=hash_secret(raw), expires_at=expires_at)
    record_event(AuditAction.LOGIN, "user", user.pk, actor=user, detail={"token_id": token.pk})
    logger.info("login user_id=%s token_id=%s", user.pk, token.pk)
    return raw, token


def revoke_token(raw: str) -> None:
    """Revoke a bearer token (logout)."""
    token = Token.objects.filter(key_hash=hash_secret(raw), revoked_at__isnull=True).first()
    if token is not None:
        Token.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        bump_credentials_version()
        announce_access_changed()
        record_event(AuditAction.LOGOUT, "user", token.user_id, detail={"token_id": token.pk})


def with_grants(user):
    """`user` with their roles' grants compiled on it, to be cached with the credential: the
    per-request copies share them, so a role holder's requests read no role rows while the
    entry lives (role, grant, assignment and group changes drop every entry)."""
    grants_of(user)
    return user


def user_for_token(raw: str):
    """The active user of an active bearer token, or None (cached briefly, see `cache.py`)."""
    key = ("token", hash_secret(raw))
    version = credentials.current_version()
    entry = credentials.get(key, version)
    if entry is not None:
        return fresh_copy(entry.user)
    token = Token.objects.active().select_related("user").filter(key_hash=key[1]).first()
    if token is None or not token.user.is_active:
        return None
    seconds_left = (token.expires_at - timezone.now()).total_seconds()
    credentials.put(key, version, with_grants(token.user), seconds_left)
    return fresh_copy(token.user)


def create_api_key(user, name: str) -> tuple[str, ApiKey]:
    """Create an API key for `user`; the raw key is returned once and never stored."""
    raw = new_secret("atk")
    api_key = ApiKey.objects.create(
        user=user, name=name, key_hash=hash_secret(raw), key_prefix=raw[:10]
    )
    record_event(AuditAction.CREATE, "apikey", api_key.pk, actor=user, detail={"name": name})
    return raw, api_key


def update_api_key(api_key: ApiKey, **fields) -> ApiKey:
    """Rename, enable or disable an API key."""
    with transaction.atomic():
        for name, value in fields.items():
            setattr(api_key, name, value)
        api_key.save()
        record_event(AuditAction.CHANGE, "apikey", api_key.pk, detail=fields)
    return api_key


def delete_api_key(api_key: ApiKey) -> None:
    with transaction.atomic():
        record_event(AuditAction.DELETE, "apikey", api_key.pk, detail={"name": api_key.name})
        api_key.delete()


def user_for_api_key(raw: str):
    """The active user of an enabled API key, or None (cached briefly, see `cache.py`)."""
    key = ("apikey", hash_secret(raw))
    version = credentials.current_version()
    entry = credentials.get(key, version)
    if entry is None:
        api_key = ApiKey.objects.enabled().select_related("user").filter(key_hash=key[1]).first()
        if api_key is None or not api_key.user.is_active:
            return None
        credentials.put(key, version, with_grants(api_key.user), float("inf"), api_key=api_key)
        user = api_key.user
    else:
        api_key, user = entry.extra["api_key"], entry.user
    touch_api_key(api_key)
    return fresh_copy(user)


def touch_api_key(api_key: ApiKey) -> None:
    """Record when the key was last used, at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
