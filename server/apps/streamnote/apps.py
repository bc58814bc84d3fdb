from django.apps import AppConfig


class StreamNoteConfig(AppConfig):
    name = "server.apps.streamnote"
    label = "streamnote"
    verbose_name = "Notes"
