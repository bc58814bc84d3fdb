from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "server.apps.telemetry"
    label = "telemetry"
    verbose_name = "Telemetry from any device"

    def ready(self) -> None:
        # The MQTT telemetry topic registers itself with the bridge's inbound-topic registry on import.
        from server.apps.telemetry import mqtt  # noqa: F401
