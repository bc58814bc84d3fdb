from django.apps import AppConfig


class SensorgraphConfig(AppConfig):
    name = "server.apps.sensorgraph"
    label = "sensorgraph"
