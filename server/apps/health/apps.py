from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "server.apps.health"
    label = "health"
