from django.contrib import admin

from apps.core.admin import CachedContentAdmin
from apps.webhooks.models import Webhook


@admin.register(Webhook)
class WebhookAdmin(CachedContentAdmin):
    """Webhook settings are cached by every web process."""

    list_display = ["name", "rate_limit_per_minute", "updated_at"]
    search_fields = ["name"]
