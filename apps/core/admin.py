from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Records the admin shows but never adds, edits or deletes (history, answers): what
    changes them goes through the services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
