from django.apps import AppConfig


class DeviceConfig(AppConfig):
    name = "server.apps.device"
    label = "device"
