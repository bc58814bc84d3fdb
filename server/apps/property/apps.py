from django.apps import AppConfig


class PropertyConfig(AppConfig):
    name = "server.apps.property"
    label = "property"
    verbose_name = "Properties"
