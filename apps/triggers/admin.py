import json

from django.contrib import admin
from django.utils.html import format_html

from apps.triggers.api.serializers import TriggerInstanceSerializer
from apps.triggers.models import TriggerInstance, TriggerType


@admin.register(TriggerType)
class TriggerTypeAdmin(admin.ModelAdmin):
    list_display = ["ref", "pack", "is_builtin", "updated_at"]
    list_filter = ["is_builtin"]
    search_fields = ["ref", "description"]


@admin.register(TriggerInstance)
class TriggerInstanceAdmin(admin.ModelAdmin):
    list_display = ["id", "trigger_ref", "source", "status", "occurred_at", "processed_at"]
    list_filter = ["status", "source"]
    search_fields = ["=id", "trigger_ref", "source_detail"]
    readonly_fields = [
        "shown_payload" if f.name == "payload" else f.name for f in TriggerInstance._meta.fields
    ]
    fields = readonly_fields
    show_full_result_count = False

    @admin.display(description="payload")
    def shown_payload(self, instance):
        """Secret fields masked, as in the API."""
        payload = TriggerInstanceSerializer(instance).data["payload"]
        return format_html("<pre>{}</pre>", json.dumps(payload, indent=2, sort_keys=True))
