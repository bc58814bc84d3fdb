from django.apps import AppConfig


class FleetConfig(AppConfig):
    name = "server.apps.fleet"
    label = "fleet"
