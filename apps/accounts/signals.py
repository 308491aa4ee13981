"""Forget cached credentials whenever a user, token or API key changes (see `cache.py`)."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save

from apps.accounts.cache import bump_credentials_version
from apps.accounts.models import ApiKey, Token


def credentials_changed(sender, created=False, **kwargs) -> None:
    if not created:  # a new row cannot be in any cache
        bump_credentials_version()


def connect() -> None:
    for model in (get_user_model(), Token, ApiKey):
        post_save.connect(credentials_changed, sender=model, dispatch_uid=f"creds-save-{model}")
        post_delete.connect(credentials_changed, sender=model, dispatch_uid=f"creds-del-{model}")
