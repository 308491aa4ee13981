"""The audit trail: who did what to which object, when and from where."""

from django.conf import settings
from django.db import models

from apps.audit.choices import AuditAction


class AuditEvent(models.Model):
    """One thing a person or process did. Written in the same transaction as the change, so
    the trail holds exactly what happened; never holds a secret value."""

    occurred_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(
        max_length=200, help_text="Username then, or the process (e.g. `execution 12`)."
    )
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["occurred_at"], name="audit_occurred_at"),
            models.Index(fields=["actor", "occurred_at"], name="audit_actor_occurred_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self):
        return f"{self.actor_name} {self.action} {self.object_type} {self.object_id}"
