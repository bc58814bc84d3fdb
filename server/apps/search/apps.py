from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "server.apps.search"
    label = "search"

    def ready(self) -> None:
        from server.apps.search.registry import autodiscover

        # Each app's search.py declares its indexes; the keys are fixed once every app is loaded.
        autodiscover()
