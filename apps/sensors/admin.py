from django.contrib import admin

from apps.sensors.models import Sensor
from apps.sensors.services import set_sensor_enabled


@admin.register(Sensor)
class SensorAdmin(admin.ModelAdmin):
    list_display = ["ref", "pack", "is_enabled", "status", "restarts", "heartbeat_at"]
    list_filter = ["is_enabled", "status"]
    search_fields = ["ref", "class_name", "description"]
    readonly_fields = [f.name for f in Sensor._meta.fields if f.name not in ("is_enabled", "id")]
    actions = ["enable", "disable"]

    def save_model(self, request, obj, form, change):
        # Go through the service so the sensor container hears about it at once.
        if change and "is_enabled" in form.changed_data:
            set_sensor_enabled(obj.ref, obj.is_enabled)
        else:
            super().save_model(request, obj, form, change)

    @admin.action(description="Enable selected sensors")
    def enable(self, request, queryset):
        for ref in queryset.values_list("ref", flat=True):
            set_sensor_enabled(ref, True)

    @admin.action(description="Disable selected sensors")
    def disable(self, request, queryset):
        for ref in queryset.values_list("ref", flat=True):
            set_sensor_enabled(ref, False)
