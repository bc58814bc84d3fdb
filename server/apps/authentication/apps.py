from django.apps import AppConfig


class AuthenticationConfig(AppConfig):
    name = "server.apps.authentication"
    label = "authentication"
