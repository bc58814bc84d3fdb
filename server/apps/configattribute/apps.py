from django.apps import AppConfig


class ConfigAttributeConfig(AppConfig):
    name = "server.apps.configattribute"
    label = "configattribute"
    verbose_name = "Config attributes"
