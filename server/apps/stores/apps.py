from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "server.apps.stores"
    label = "stores"
    verbose_name = "File stores"

    def ready(self) -> None:
        from server.apps.stores import checks  # noqa: F401  (registers the system checks)
