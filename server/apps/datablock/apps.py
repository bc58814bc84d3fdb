from django.apps import AppConfig


class DatablockConfig(AppConfig):
    name = "server.apps.datablock"
    label = "datablock"
