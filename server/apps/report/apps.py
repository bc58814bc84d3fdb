from django.apps import AppConfig


class ReportConfig(AppConfig):
    name = "server.apps.report"
    label = "report"
