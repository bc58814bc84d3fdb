from django.apps import AppConfig


class StreamConfig(AppConfig):
    name = "server.apps.stream"
    label = "stream"
