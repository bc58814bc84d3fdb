from django.apps import AppConfig


class StreamaliasConfig(AppConfig):
    name = "server.apps.streamalias"
    label = "streamalias"
