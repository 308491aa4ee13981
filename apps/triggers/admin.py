from django.contrib import admin

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
    readonly_fields = [f.name for f in TriggerInstance._meta.fields]
    show_full_result_count = False
