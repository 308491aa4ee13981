from django.contrib import admin

from apps.actions.parameters import SECRET_MASK
from apps.datastore.models import KeyValuePair


@admin.register(KeyValuePair)
class KeyValuePairAdmin(admin.ModelAdmin):
    """Keys are listed and deleted here; values are written through the API (secrets are
    encrypted by the service), so the admin never shows or edits a secret's value."""

    list_display = ["name", "scope", "user", "is_secret", "shown_value", "expires_at", "updated_at"]
    list_filter = ["scope", "is_secret"]
    search_fields = ["name", "user__username"]
    list_select_related = ["user"]
    fields = ["name", "scope", "user", "is_secret", "shown_value", "expires_at", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="value")
    def shown_value(self, pair):
        return SECRET_MASK if pair.is_secret else pair.value
