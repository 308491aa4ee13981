from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Count, Q

from apps.policies import services
from apps.policies.models import ConcurrencySlot, Policy, SlotClaim
from apps.policies.specs import parse_policy


class PolicyForm(forms.ModelForm):
    """Checks a policy edited in the admin exactly as the API and pack loader do."""

    class Meta:
        model = Policy
        fields = [
            "ref",
            "pack",
            "name",
            "description",
            "resource_ref",
            "policy_type",
            "parameters",
            "is_enabled",
            "metadata_file",
        ]

    def clean(self):
        cleaned = super().clean()
        data = {
            "name": cleaned.get("name"),
            "resource_ref": cleaned.get("resource_ref"),
            "policy_type": cleaned.get("policy_type"),
            "parameters": cleaned.get("parameters"),
            "enabled": cleaned.get("is_enabled", True),
        }
        errors: list[dict] = []
        spec = parse_policy(data, "admin", errors)
        if errors:
            raise forms.ValidationError([f"{e['field']}: {e['message']}" for e in errors])
        cleaned["parameters"] = spec.parameters
        return cleaned


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    form = PolicyForm
    list_display = ["ref", "resource_ref", "policy_type", "is_enabled", "updated_at"]
    list_filter = ["policy_type", "is_enabled"]
    search_fields = ["ref", "resource_ref", "description"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        """Save through the same path as the API: waiting executions and caches follow."""
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            services.after_save(obj)

    def delete_model(self, request, obj):
        services.delete_policy(obj)

    def delete_queryset(self, request, queryset):
        """Deleting a selection: each policy as above (waiting executions follow)."""
        for policy in queryset:
            services.delete_policy(policy)


class SlotClaimInline(admin.TabularInline):
    model = SlotClaim
    fields = ["execution", "is_holding", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(ConcurrencySlot)
class ConcurrencySlotAdmin(admin.ModelAdmin):
    """Who holds the places of a concurrency policy and who waits in line (read-only)."""

    list_display = ["policy", "attribute_values", "holding", "waiting"]
    readonly_fields = ["policy", "key", "attribute_values"]
    inlines = [SlotClaimInline]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("policy")
            .annotate(
                holding_count=Count("claims", filter=Q(claims__is_holding=True)),
                waiting_count=Count("claims", filter=Q(claims__is_holding=False)),
            )
        )

    @admin.display(description="holding", ordering="holding_count")
    def holding(self, slot):
        return slot.holding_count

    @admin.display(description="waiting", ordering="waiting_count")
    def waiting(self, slot):
        return slot.waiting_count
