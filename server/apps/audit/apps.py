from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "server.apps.audit"
    label = "audit"

    def ready(self) -> None:
        from server.apps.audit.registry import register_audited_models

        register_audited_models()
