from django.apps import AppConfig


class StreamfilterConfig(AppConfig):
    name = "server.apps.streamfilter"
    label = "streamfilter"
