from django.apps import AppConfig


class VartypeConfig(AppConfig):
    name = "server.apps.vartype"
    label = "vartype"
