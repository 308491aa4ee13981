"""Per-webhook settings: the HMAC secret that may authenticate callers, and the rate limit.

A webhook exists as soon as a rule listens on `core.st2.webhook` with its `url`; a settings row
is needed only to change the defaults.
"""

from django.db import models


class Webhook(models.Model):
    """Settings of the webhook `POST /api/v1/webhooks/<name>`."""

    name = models.CharField(max_length=200, unique=True)
    hmac_secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Callers may sign the body with HMAC-SHA256 instead of sending an API key.",
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: the installation's default."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
