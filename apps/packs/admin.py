from django.contrib import admin

from apps.actions.models import Action
from apps.core.admin import CachedContentAdmin
from apps.packs.models import Pack
from apps.runtimes.admin import PackEnvironmentInline
from apps.runtimes.services import container_images


class ActionInline(admin.TabularInline):
    model = Action
    fields = ["name", "runner_type", "entry_point", "is_enabled"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Pack)
class PackAdmin(CachedContentAdmin):
    """A pack's owner and system flag decide who may see and run its content, which every
    process caches."""

    list_display = ["ref", "name", "version", "is_system", "owner", "content", "updated_at"]
    list_filter = ["is_system"]
    search_fields = ["ref", "name", "description"]
    readonly_fields = [
        "content",
        "metadata",
        "source",
        "images",
        "registered_at",
        "updated_at",
    ]
    inlines = [ActionInline, PackEnvironmentInline]

    @admin.display(description="container images")
    def images(self, obj):
        images = container_images(obj.actions.all())
        return ", ".join(f"{i['image']} ({i['action']})" for i in images)
