from django.apps import AppConfig


class ForwardingConfig(AppConfig):
    name = "server.apps.forwarding"
    label = "forwarding"
