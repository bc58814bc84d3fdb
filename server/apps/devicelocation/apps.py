from django.apps import AppConfig


class DeviceLocationConfig(AppConfig):
    name = "server.apps.devicelocation"
    label = "devicelocation"
    verbose_name = "Device locations"
