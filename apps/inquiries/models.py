"""Inquiries: a question a `core.ask` execution puts to people, and the answer it got."""

from django.conf import settings
from django.db import models

from apps.inquiries.choices import InquiryStatus


class Inquiry(models.Model):
    """One per `core.ask` execution (same id), pending until answered, expired or canceled.

    Who answered what and when stays on the row (`responded_by`, `response`, `responded_at`).
    """

    execution = models.OneToOneField(
        "executions.Execution", primary_key=True, on_delete=models.CASCADE, related_name="inquiry"
    )
    # The workflow the asking task belongs to (its parent execution), if any.
    workflow = models.ForeignKey(
        "executions.Execution",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    schema = models.JSONField()
    route = models.CharField(max_length=200, blank=True)
    users = models.JSONField(default=list, blank=True)
    roles = models.JSONField(default=list, blank=True)
    ttl = models.FloatField(help_text="Minutes (fractions allowed); 0 never expires.")
    status = models.CharField(
        max_length=20, choices=InquiryStatus.choices, default=InquiryStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "inquiries"
        indexes = [models.Index(fields=["status", "expires_at"], name="inquiry_expiry")]

    def __str__(self):
        return f"inquiry #{self.pk} ({self.status})"

    @property
    def prompt(self) -> str:
        """What the asker wants to know: the schema's title or description, if it has one."""
        return self.schema.get("title") or self.schema.get("description") or ""

    def result(self) -> dict:
        """The asking execution's result, as StackStorm's inquirer runner shapes it."""
        return {
            "schema": self.schema,
            "response": self.response,
            "route": self.route,
            "users": self.users,
            "roles": self.roles,
            "ttl": self.ttl,
        }
