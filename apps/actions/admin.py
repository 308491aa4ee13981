from django.contrib import admin

from apps.actions.models import Action
from apps.core.admin import CachedContentAdmin


@admin.register(Action)
class ActionAdmin(CachedContentAdmin):
    """Actions are cached for execution requests and their authorization."""

    list_display = ["ref", "pack", "runner_type", "entry_point", "is_enabled", "updated_at"]
    list_filter = ["runner_type", "is_enabled", "pack"]
    search_fields = ["ref", "name", "description"]
    readonly_fields = ["pack", "ref", "metadata_file", "updated_at"]
