from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "server.apps.project"
    label = "project"
