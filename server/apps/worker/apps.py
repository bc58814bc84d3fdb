from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class WorkerConfig(AppConfig):
    name = "server.apps.worker"
    label = "worker"
    verbose_name = "Queue worker"

    def ready(self) -> None:
        # Every app declares its queue actions (and periodic jobs) in its own jobs.py; importing them fills the
        # registries before any message is read.
        autodiscover_modules("jobs")
