from django.apps import AppConfig


class DevicetemplateConfig(AppConfig):
    name = "server.apps.devicetemplate"
    label = "devicetemplate"
