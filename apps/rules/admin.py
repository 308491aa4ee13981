from django.contrib import admin

from apps.rules.models import Rule, RuleEnforcement


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["ref", "trigger_ref", "action_ref", "is_enabled", "owner", "updated_at"]
    list_filter = ["is_enabled", "trigger_ref"]
    search_fields = ["ref", "description", "action_ref"]
    readonly_fields = ["trigger_key", "created_at", "updated_at"]


@admin.register(RuleEnforcement)
class RuleEnforcementAdmin(admin.ModelAdmin):
    list_display = ["id", "rule_ref", "trigger_instance", "status", "execution", "enforced_at"]
    list_filter = ["status"]
    search_fields = ["rule_ref", "=trigger_instance__id"]
    readonly_fields = [f.name for f in RuleEnforcement._meta.fields]
