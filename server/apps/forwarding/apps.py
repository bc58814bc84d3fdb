from django.apps import AppConfig


class ForwardingConfig(AppConfig):
    name = "server.apps.forwarding"
    label = "forwarding"

    def ready(self) -> None:
        # Telemetry offers every routed message to its registered consumers, inside its ingest transaction; the
        # outbox is one (telemetry imports no consumer).
        from server.apps.forwarding.services import deliveries_create
        from server.apps.telemetry.message import register_routed_consumer

        register_routed_consumer(deliveries_create)
