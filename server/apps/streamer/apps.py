from django.apps import AppConfig


class StreamerConfig(AppConfig):
    name = "server.apps.streamer"
    label = "streamer"
