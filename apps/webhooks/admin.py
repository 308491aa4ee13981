from django.contrib import admin

from apps.webhooks.models import Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["name", "rate_limit_per_minute", "updated_at"]
    search_fields = ["name"]
