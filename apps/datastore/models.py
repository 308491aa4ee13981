"""Key-value pairs: shared state and secrets for rules, actions and sensors."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.datastore.choices import KeyScope


class KeyValuePairQuerySet(models.QuerySet):
    def live(self):
        """Keys not yet expired: an expired key is gone the moment it expires."""
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))

    def in_scope(self, scope: str, user):
        """The keys of `scope`; user-scoped keys only of `user`."""
        if scope == KeyScope.USER:
            return self.filter(scope=KeyScope.USER, user=user)
        return self.filter(scope=KeyScope.SYSTEM)


class KeyValuePair(models.Model):
    """A named JSON value in the `system` scope, or in one user's `user` scope.

    A secret's value is kept only as ciphertext (`encrypted_value`), bound to its scope, owner
    and name; `value` is then null. Pack-local keys of actions and sensors are ordinary system
    keys named `<pack>.<Class>:<name>`, as in StackStorm.
    """

    name = models.CharField(max_length=500)
    scope = models.CharField(max_length=10, choices=KeyScope.choices, default=KeyScope.SYSTEM)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The owner of a user-scoped key.",
    )
    value = models.JSONField(null=True, blank=True)
    encrypted_value = models.TextField(blank=True)
    is_secret = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = KeyValuePairQuerySet.as_manager()

    class Meta:
        ordering = ["scope", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(scope=KeyScope.SYSTEM), name="unique_system_key"
            ),
            models.UniqueConstraint(
                fields=["user", "name"], condition=Q(scope=KeyScope.USER), name="unique_user_key"
            ),
            models.CheckConstraint(
                condition=Q(scope=KeyScope.SYSTEM, user__isnull=True)
                | Q(scope=KeyScope.USER, user__isnull=False),
                name="user_keys_have_an_owner",
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="key_expires_at")]

    def __str__(self):
        return f"{self.scope}:{self.name}"

    def encryption_context(self) -> str:
        return encryption_context(self.scope, self.user_id, self.name)


def encryption_context(scope: str, user_id, name: str) -> str:
    """What a secret's ciphertext is bound to: moved to another key, it will not decrypt."""
    return f"datastore:{scope}:{user_id or ''}:{name}"
