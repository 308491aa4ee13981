from django.contrib import admin

from apps.actions.models import Action
from apps.core.cache import bump_content_version


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ["ref", "pack", "runner_type", "entry_point", "is_enabled", "updated_at"]
    list_filter = ["runner_type", "is_enabled", "pack"]
    search_fields = ["ref", "name", "description"]
    readonly_fields = ["pack", "ref", "metadata_file", "updated_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        bump_content_version()  # cached action lookups must see the change at once
