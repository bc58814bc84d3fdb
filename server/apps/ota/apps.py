from django.apps import AppConfig


class OtaConfig(AppConfig):
    name = "server.apps.ota"
    label = "ota"
