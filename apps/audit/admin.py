from django.contrib import admin

from apps.audit.models import AuditEvent
from apps.core.admin import ReadOnlyModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    """The trail is read-only: nobody edits or deletes history here."""

    list_display = ["occurred_at", "actor_name", "action", "object_type", "object_id", "ip_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_name", "object_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
