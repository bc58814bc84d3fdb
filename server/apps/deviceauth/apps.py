from django.apps import AppConfig


class DeviceauthConfig(AppConfig):
    name = "server.apps.deviceauth"
    label = "deviceauth"

    def ready(self) -> None:
        from server.apps.deviceauth import schema  # noqa: F401  registers the OpenAPI auth extension
