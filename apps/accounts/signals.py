"""Forget cached credentials whenever a user, token or API key changes (see `cache.py`), and
have open stream connections checked again."""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save

from apps.accounts.cache import bump_credentials_version
from apps.accounts.models import ApiKey, Token
from apps.notifications.services import announce_access_changed

# Saved on every admin sign-in; changes nothing about who someone is or what they may do.
BOOKKEEPING_FIELDS = frozenset({"last_login"})


def credentials_changed(sender, created=False, update_fields=None, **kwargs) -> None:
    if created:  # a new row cannot be in any cache, nor behind any connection
        return
    if update_fields is not None and update_fields <= BOOKKEEPING_FIELDS:
        return
    bump_credentials_version()
    announce_access_changed()


def groups_changed(sender, action: str, **kwargs) -> None:
    """Roles can be assigned to groups: joining or leaving one changes what a user may see."""
    if action in ("post_add", "post_remove", "post_clear"):
        bump_credentials_version()  # cached credentials carry their user's compiled grants
        announce_access_changed()


def connect() -> None:
    User = get_user_model()
    for model in (User, Token, ApiKey):
        post_save.connect(credentials_changed, sender=model, dispatch_uid=f"creds-save-{model}")
        post_delete.connect(credentials_changed, sender=model, dispatch_uid=f"creds-del-{model}")
    m2m_changed.connect(groups_changed, sender=User.groups.through, dispatch_uid="user-groups")
