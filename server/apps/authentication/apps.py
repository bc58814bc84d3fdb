from django.apps import AppConfig


class AuthenticationConfig(AppConfig):
    name = "server.apps.authentication"
    label = "authentication"

    def ready(self) -> None:
        from server.apps.authentication import schema  # noqa: F401  registers the OpenAPI auth extension
