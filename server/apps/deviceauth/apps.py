from django.apps import AppConfig


class DeviceauthConfig(AppConfig):
    name = "server.apps.deviceauth"
    label = "deviceauth"
