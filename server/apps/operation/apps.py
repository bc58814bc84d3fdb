from django.apps import AppConfig


class OperationConfig(AppConfig):
    name = "server.apps.operation"
    label = "operation"
    verbose_name = "Device operations"

    def ready(self) -> None:
        # The kinds declare themselves on import; every caller then finds the registry complete.
        from server.apps.operation import kinds  # noqa: F401
