from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "server.apps.staff"
    label = "staff"
    verbose_name = "Staff pages"
