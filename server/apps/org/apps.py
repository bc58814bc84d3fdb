from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "server.apps.org"
    label = "org"
