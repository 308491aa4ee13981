from django.contrib import admin

from apps.accounts.models import ApiKey, Token


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "key_prefix", "is_enabled", "created_at", "last_used_at"]
    list_filter = ["is_enabled"]
    search_fields = ["name", "user__username", "key_prefix"]
    readonly_fields = ["key_hash", "key_prefix", "created_at", "last_used_at"]


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "created_at", "expires_at", "revoked_at"]
    search_fields = ["user__username"]
    readonly_fields = ["key_hash", "created_at"]
