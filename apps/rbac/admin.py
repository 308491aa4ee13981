from django.contrib import admin

from apps.rbac.models import Grant, Role, RoleAssignment


class GrantInline(admin.TabularInline):
    model = Grant
    extra = 1
    fields = ["permission_type", "pack_ref", "resource_ref"]


class AssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    fields = ["user", "group", "description", "source"]
    readonly_fields = ["source"]
    autocomplete_fields = ["user", "group"]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    """Roles with their grants inline; system roles (grants in code) are read-only."""

    list_display = ["name", "is_system", "is_enabled", "description", "source"]
    list_filter = ["is_system", "is_enabled"]
    search_fields = ["name", "description"]
    inlines = [GrantInline, AssignmentInline]
    readonly_fields = ["is_system", "source"]

    def get_inlines(self, request, obj):
        return [AssignmentInline] if obj is not None and obj.is_system else self.inlines

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.is_system


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["role", "user", "group", "source", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "group__name", "role__name"]
    autocomplete_fields = ["user", "group"]
