from django.contrib import admin

from server.apps.health.models import DeviceHealth


@admin.register(DeviceHealth)
class DeviceHealthAdmin(admin.ModelAdmin):
    list_display = ("device", "status", "period", "changed_on")
    list_filter = ("status",)
    search_fields = ("device__slug",)
    raw_id_fields = ("device",)
