from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "server.apps.core"
    label = "core"

    def ready(self) -> None:
        # What metadata can target, and the metadata models, as each app declares them in its targets.py.
        from server.apps.core.targets import autodiscover

        autodiscover()
