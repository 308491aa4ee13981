"""Plain factory functions for API tests: users, credentials, clients, executions and rules."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Token, hash_secret, new_secret
from apps.core.cache import increment_version
from apps.executions.choices import ExecutionStatus
from apps.executions.models import Execution
from apps.rules.models import Rule
from apps.triggers.models import trigger_key

PASSWORD = "correct horse battery staple"


def make_user(username: str = "alice", *, is_staff: bool = False, password: str | None = None):
    """Create a user; without `password` it cannot log in (and no slow hashing happens)."""
    return get_user_model().objects.create_user(
        username, f"{username}@example.com", password, is_staff=is_staff
    )


def make_token(user, *, expires_in: timedelta = timedelta(hours=1), revoked: bool = False) -> str:
    """Issue a bearer token for `user` directly and return the raw value."""
    raw = new_secret("att")
    Token.objects.create(
        user=user,
        key_hash=hash_secret(raw),
        expires_at=timezone.now() + expires_in,
        revoked_at=timezone.now() if revoked else None,
    )
    return raw


def api_client(user=None, *, token: str | None = None) -> APIClient:
    """An API client sending a bearer token for `user` (or `token`); anonymous with neither."""
    client = APIClient()
    if user is not None and token is None:
        token = make_token(user)
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def make_execution(
    action_ref: str = "core.noop",
    *,
    status: str = ExecutionStatus.REQUESTED,
    parent: Execution | None = None,
    parameters: dict | None = None,
    created_by=None,
) -> Execution:
    """Write an execution row directly, as if it had been requested earlier."""
    return Execution.objects.create(
        action_ref=action_ref,
        status=status,
        parent=parent,
        parameters=parameters or {},
        created_by=created_by,
    )


def webhook_rule(name: str, url: str, owner, action_ref: str, criteria=None, **parameters) -> Rule:
    """A rule of `owner` on webhook `url` running `action_ref` with `parameters`."""
    trigger_parameters = {"url": url}
    rule = Rule.objects.create(
        ref=f"default.{name}",
        name=name,
        trigger_ref="core.st2.webhook",
        trigger_parameters=trigger_parameters,
        trigger_key=trigger_key("core.st2.webhook", trigger_parameters),
        criteria=criteria or {},
        action_ref=action_ref,
        action_parameters=parameters,
        owner=owner,
    )
    increment_version()  # the change is announced after commit, which a test never reaches
    return rule
