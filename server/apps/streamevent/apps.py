from django.apps import AppConfig


class StreameventConfig(AppConfig):
    name = "server.apps.streamevent"
    label = "streamevent"
