from django.contrib import admin

from apps.runtimes.models import PackEnvironment

ENVIRONMENT_FIELDS = ["kind", "status", "is_current", "sha256", "requested_at", "built_at", "log"]


class PackEnvironmentInline(admin.TabularInline):
    """The pack's environments on its admin page (read-only: registration manages them)."""

    model = PackEnvironment
    fields = ENVIRONMENT_FIELDS
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PackEnvironment)
class PackEnvironmentAdmin(admin.ModelAdmin):
    list_display = ["pack", "kind", "status", "is_current", "short_sha", "requested_at", "built_at"]
    list_filter = ["kind", "status", "is_current"]
    search_fields = ["pack__ref", "sha256"]
    readonly_fields = ["pack", *ENVIRONMENT_FIELDS, "files", "defaults"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="sha256")
    def short_sha(self, obj):
        return obj.sha256[:12]
