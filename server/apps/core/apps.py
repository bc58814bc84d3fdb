from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "server.apps.core"
    label = "core"
