from django.contrib import admin

from server.apps.deviceauth.models import DeviceKey


@admin.register(DeviceKey)
class DeviceKeyAdmin(admin.ModelAdmin):
    list_display = ("device", "type", "downloadable", "created_on")
    list_filter = ("type",)
    search_fields = ("device__slug",)
    raw_id_fields = ("device", "created_by")
