from django.contrib import admin

from apps.rules import services
from apps.rules.models import Rule, RuleEnforcement
from apps.triggers.models import trigger_key


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["ref", "trigger_ref", "action_ref", "is_enabled", "owner", "updated_at"]
    list_filter = ["is_enabled", "trigger_ref"]
    search_fields = ["ref", "description", "action_ref"]
    readonly_fields = ["trigger_key", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        """Save through the same path as the API: caches and timers follow the rule."""
        obj.trigger_key = trigger_key(obj.trigger_ref, obj.trigger_parameters)
        super().save_model(request, obj, form, change)
        services.after_save(obj, "rule.updated" if change else "rule.created")

    def delete_model(self, request, obj):
        rule_id = obj.pk
        super().delete_model(request, obj)
        services.after_delete(obj, rule_id)

    def delete_queryset(self, request, queryset):
        """Deleting a selection: each rule as above (its timer and the caches follow)."""
        for rule in queryset:
            self.delete_model(request, rule)


@admin.register(RuleEnforcement)
class RuleEnforcementAdmin(admin.ModelAdmin):
    list_display = ["id", "rule_ref", "trigger_instance", "status", "execution", "enforced_at"]
    list_filter = ["status"]
    search_fields = ["rule_ref", "=trigger_instance__id"]
    readonly_fields = [f.name for f in RuleEnforcement._meta.fields]
