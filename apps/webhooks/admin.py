from django.contrib import admin

from apps.core.cache import bump_content_version
from apps.webhooks.models import Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["name", "rate_limit_per_minute", "updated_at"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        bump_content_version()  # webhook settings are cached by every web process

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        bump_content_version()
