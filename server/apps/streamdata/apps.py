from django.apps import AppConfig


class StreamdataConfig(AppConfig):
    name = "server.apps.streamdata"
    label = "streamdata"
