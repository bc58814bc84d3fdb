from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "server.apps.core"
    label = "core"

    def ready(self) -> None:
        # Large blocks stay in the heap between requests and reports (core/memory.py).
        from server.apps.core.memory import keep_large_blocks

        keep_large_blocks()
        # What metadata can target, and the metadata models, as each app declares them in its targets.py.
        from server.apps.core.targets import autodiscover

        autodiscover()
