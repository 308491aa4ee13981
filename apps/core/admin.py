from django.contrib import admin

from apps.core.cache import bump_content_version


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Records the admin shows but never adds, edits or deletes (history, answers): what
    changes them goes through the services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CachedContentAdmin(admin.ModelAdmin):
    """Content every process caches per content version (`apps.core.cache`): any save or
    delete here, one row or a selection, announces the change so no process keeps using the
    old one."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        bump_content_version()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        bump_content_version()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        bump_content_version()
